// A load nft refuses is not the end of it: platformd tries again by itself,
// with no change of input to prompt it. The daemon runs in its own network
// namespace with an `nft` first on its PATH that refuses every call while a
// flag file exists, and passes through to the real nft once it is gone.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLan, removeStale, type Lan } from '../support/netns.js';
import { startDaemon, withoutCI, type RunningDaemon } from '../support/daemon.js';

const PREFIX = `psfr${process.pid % 10000}`;

let lan: Lan;
let node: RunningDaemon;
let bin: string;
const flag = () => join(bin, 'refuse');

async function firewallStatus(): Promise<{ applied: boolean; reason: string | null }> {
  return JSON.parse((await node.platform(['--json', 'firewall', 'status'])).stdout);
}

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.250.17', 'fd00:250:17', { node: 1 });
  bin = mkdtempSync(join(tmpdir(), 'platform-fake-nft-'));
  const realNft = execFileSync('sh', ['-c', 'command -v nft'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).trim();
  writeFileSync(join(bin, 'nft'), `#!/bin/sh\nif [ -e '${flag()}' ]; then echo 'Error: Could not process rule: Device or resource busy (simulated)' >&2; exit 1; fi\nexec '${realNft}' "$@"\n`);
  chmodSync(join(bin, 'nft'), 0o755);
  writeFileSync(flag(), '');
  node = await startDaemon({ netns: lan.hosts.node!.ns, args: ['--firewall', 'apply'], env: withoutCI({ PATH: `${bin}:${process.env.PATH}` }) });
});

afterAll(async () => {
  await node?.stop();
  lan?.destroy();
  if (bin) rmSync(bin, { recursive: true, force: true });
});

describe('a refused firewall load', () => {
  it('is reported as not applied, with nft’s reason', async () => {
    const status = await firewallStatus();
    expect(status.applied).toBe(false);
    expect(status.reason).toContain('Device or resource busy (simulated)');
  });

  it('is tried again by itself once nft accepts, with nothing else changing', async () => {
    rmSync(flag());
    const deadline = Date.now() + 20_000;
    while (!(await firewallStatus()).applied) {
      if (Date.now() > deadline) throw new Error(`still not applied: ${JSON.stringify(await firewallStatus())}\n${node.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const kernel = execFileSync('ip', ['netns', 'exec', lan.hosts.node!.ns, 'nft', 'list', 'table', 'inet', 'platform'], { encoding: 'utf8' });
    expect(kernel).toContain('chain input');
  });
});
