// The image end to end: packer/test-in-debootstrap.sh provisions a fresh
// Debian 12 root (debootstrap, the configured mirror), boots it the way the
// units do inside a network namespace and asks `platform --json system info`.
// About 2.5 minutes the first time, under a minute once the bare root is cached.

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../support/daemon.js';

describe('the image, provisioned in a debootstrap root', () => {
  it('boots: firewall first, platformd, first-boot setup from answers, system info, last good ruleset', async () => {
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile('bash', [join(ROOT, 'packer', 'test-in-debootstrap.sh')], { cwd: ROOT, timeout: 290_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
      });
    });
    if (result.code !== 0) console.error(result.output);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/image test passed in \d+ s/);
    expect(result.output).toContain('"hostname": "image01"');
  }, 300_000);
});
