// First boot's answers file (packer/systemd/platform-firstboot, run as root at
// a node's first boot, reading a disk anyone with the hypervisor can attach):
// bounded in size, checked whole before anything changes, bad input exits 2
// and leaves the node unconfigured; good answers set the node up once. Run
// here against a real platformd on a throwaway home (the image test runs
// it booted).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';

const SCRIPT = join(ROOT, 'packer', 'systemd', 'platform-firstboot');
let KEY: string;
let node: RunningDaemon;
let consoleWrapper: string;

function firstboot(answers: string): Promise<{ status: number; stderr: string }> {
  writeFileSync(join(node.home, 'setup.answers'), answers);
  return new Promise((resolve) => {
    execFile('sh', [SCRIPT], { env: withoutCI({ PLATFORM_HOME: node.home, PLATFORM_CONSOLE: consoleWrapper, PATH: process.env.PATH }), timeout: 60_000 }, (error, _stdout, stderr) => {
      resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

async function unchanged() {
  const info = JSON.parse((await node.platform(['--json', 'system', 'info'])).stdout);
  expect(info.configured).toBe(false);
  expect(existsSync(join(node.home, '.setup-done'))).toBe(false);
  expect(existsSync(join(node.home, 'etc', 'authorized_keys', 'platform'))).toBe(false);
  expect(readdirSync(join(node.home, 'media'))).toEqual([]);
}

beforeAll(async () => {
  node = await startDaemon();
  const dir = tempHome('ps-firstboot-');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'admin@example', '-f', join(dir, 'key')]);
  KEY = readFileSync(join(dir, 'key.pub'), 'utf8').trim();
  consoleWrapper = join(dir, 'platform');
  writeFileSync(consoleWrapper, `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'bin', 'platform.js')} "$@"\n`, { mode: 0o755 });
});

afterAll(async () => {
  await node?.stop();
});

describe('first boot answers', () => {
  const refused: [string, () => string, RegExp][] = [
    ['too large', () => `HOSTNAME=n1\nROLE=unified\n# ${'x'.repeat(70_000)}\n`, /larger than 65536 bytes/],
    ['an unknown key', () => 'HOSTNAME=n1\nROLE=unified\nROOT_SHELL=/bin/sh\n', /unknown key ROOT_SHELL/],
    ['a clear password', () => 'HOSTNAME=n1\nROLE=unified\nADMIN_PASSWORD_HASH=Secret-Pa55word\n', /not a crypt\(3\) hash/],
    ['a key that is not one', () => `HOSTNAME=n1\nROLE=unified\nADMIN_KEY=ssh-ed25519 $(reboot)\n`, /ADMIN_KEY 1 is not an SSH public key line/],
    ['too many keys', () => `HOSTNAME=n1\nROLE=unified\n${`ADMIN_KEY=${KEY}\n`.repeat(17)}`, /more than 16 ADMIN_KEY lines/],
    ['a bad host name', () => 'HOSTNAME=-bad-\nROLE=unified\n', /hostname/i],
    ['an unknown role', () => 'HOSTNAME=n1\nROLE=mainframe\n', /role/i],
  ];
  for (const [what, answers, message] of refused) {
    it(`refuses ${what}: exit 2, nothing changed`, async () => {
      const result = await firstboot(answers());
      expect(result.stderr).toMatch(message);
      expect(result.status).toBe(2);
      await unchanged();
    });
  }

  it('sets the node up from good answers, with the administrator key through user addkey', async () => {
    const result = await firstboot(`HOSTNAME=n1\nROLE=webproxy\n# a comment\n\nDATA_CENTRE=dc2\nADMIN_KEY=${KEY}`);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const info = JSON.parse((await node.platform(['--json', 'system', 'info'])).stdout);
    expect(info).toMatchObject({ hostname: 'n1', roles: ['webproxy'], dataCentre: 'dc2', configured: true });
    expect(readFileSync(join(node.home, 'etc', 'authorized_keys', 'platform'), 'utf8')).toContain(KEY.split(' ')[1]);
    expect(readdirSync(join(node.home, 'media'))).toEqual([]);
    expect(existsSync(join(node.home, '.setup-done'))).toBe(true);
    rmSync(join(node.home, 'setup.answers'));
  });
});
