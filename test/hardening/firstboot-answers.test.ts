// First boot's answers file (packer/systemd/platform-firstboot, run as root at
// a node's first boot, reading a disk anyone with the hypervisor can attach):
// bounded in size, checked whole before anything changes, bad input exits 2
// and leaves the node unconfigured; good answers set the node up once. Run
// here against a real platformd on a throwaway home (the image test runs
// it booted).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';

const SCRIPT = join(ROOT, 'packer', 'systemd', 'platform-firstboot');
let KEY: string;
let node: RunningDaemon;
let consoleWrapper: string;
/** Where first boot writes its systemd-networkd files here (never the host's /etc). */
let networkDir: string;

function firstboot(answers: string, args: string[] = []): Promise<{ status: number; stderr: string }> {
  writeFileSync(join(node.home, 'setup.answers'), answers);
  return new Promise((resolve) => {
    execFile('sh', [SCRIPT, ...args], { env: withoutCI({ PLATFORM_HOME: node.home, PLATFORM_CONSOLE: consoleWrapper, PLATFORM_NETWORK_DIR: networkDir, PATH: process.env.PATH }), timeout: 60_000 }, (error, _stdout, stderr) => {
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
  expect(readdirSync(networkDir)).toEqual([]);
}

beforeAll(async () => {
  node = await startDaemon();
  const dir = tempHome('ps-firstboot-');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'admin@example', '-f', join(dir, 'key')]);
  KEY = readFileSync(join(dir, 'key.pub'), 'utf8').trim();
  networkDir = join(dir, 'network');
  mkdirSync(networkDir);
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
    ['an address without its interface', () => 'HOSTNAME=n1\nROLE=unified\nADDRESS=10.77.0.11/24\n', /ADDRESS 1 is not/],
    ['an address out of range', () => 'HOSTNAME=n1\nROLE=unified\nADDRESS=eth1 10.77.0.256/24\n', /ADDRESS 1 is not/],
    ['a prefix out of range', () => 'HOSTNAME=n1\nROLE=unified\nADDRESS=eth1 10.77.0.11/33\n', /ADDRESS 1 is not/],
    ['an interface name that is a command', () => 'HOSTNAME=n1\nROLE=unified\nADDRESS=eth1 10.77.0.11/24\nADDRESS=$(reboot) 10.77.0.12/24\n', /ADDRESS 2 is not/],
    ['an address after a good one, with a bad host name', () => 'ADDRESS=eth1 10.77.0.11/24\nHOSTNAME=-bad-\nROLE=unified\n', /hostname/i],
    ['a gateway that is not an address', () => 'HOSTNAME=n1\nROLE=unified\nADDRESS=eth1 10.77.0.11/24\nGATEWAY=10.77.0.1\\nDNS=1.2.3.4\n', /GATEWAY is not an IPv4 address/],
    ['a gateway outside every address', () => 'HOSTNAME=n1\nROLE=unified\nADDRESS=eth1 10.77.0.11/24\nGATEWAY=10.77.1.1\n', /GATEWAY 10\.77\.1\.1 is not inside the network of any ADDRESS/],
    ['a gateway that is the address itself', () => 'HOSTNAME=n1\nROLE=unified\nADDRESS=eth1 10.77.0.11/24\nGATEWAY=10.77.0.11\n', /is not inside the network/],
    ['two gateways', () => 'HOSTNAME=n1\nROLE=unified\nADDRESS=eth1 10.77.0.11/24\nGATEWAY=10.77.0.1\nGATEWAY=10.77.0.2\n', /more than one GATEWAY line/],
    ['too many addresses', () => `HOSTNAME=n1\nROLE=unified\n${'ADDRESS=eth1 10.77.0.11/24\n'.repeat(9)}`, /more than 8 ADDRESS lines/],
  ];
  for (const [what, answers, message] of refused) {
    it(`refuses ${what}: exit 2, nothing changed`, async () => {
      const result = await firstboot(answers());
      expect(result.stderr).toMatch(message);
      expect(result.status).toBe(2);
      await unchanged();
    });
  }

  it('sets the node up from good answers, with the administrator key through user addkey and static addresses for networkd', async () => {
    const answers = `HOSTNAME=n1\nROLE=webproxy\n# a comment\n\nDATA_CENTRE=dc2\nADDRESS=52:54:00:77:00:11 10.77.0.11/24\nADDRESS=enp0s4 192.0.2.7/28\nGATEWAY=192.0.2.1\nADMIN_KEY=${KEY}`;
    // Early in boot (platform-firstboot-network.service), only the addresses: before the network is waited for.
    const early = await firstboot(answers, ['--network']);
    expect(early.stderr).toBe('');
    expect(early.status).toBe(0);
    expect(readdirSync(networkDir).sort()).toEqual(['15-platform-firstboot-1.network', '15-platform-firstboot-2.network']);
    expect(JSON.parse((await node.platform(['--json', 'system', 'info'])).stdout).configured).toBe(false);
    expect(existsSync(join(node.home, '.setup-done'))).toBe(false);
    const result = await firstboot(answers);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const info = JSON.parse((await node.platform(['--json', 'system', 'info'])).stdout);
    expect(info).toMatchObject({ hostname: 'n1', roles: ['webproxy'], dataCentre: 'dc2', configured: true });
    expect(readFileSync(join(node.home, 'etc', 'authorized_keys', 'platform'), 'utf8')).toContain(KEY.split(' ')[1]);
    expect(readdirSync(join(node.home, 'media'))).toEqual([]);
    expect(existsSync(join(node.home, '.setup-done'))).toBe(true);
    // Ahead of the image's DHCP default (20-wired.network), matched by MAC address or by name.
    // Behind platformd's own files (10-platform-<name>, "network interface"), which win for their interface.
    expect(readdirSync(networkDir).sort()).toEqual(['15-platform-firstboot-1.network', '15-platform-firstboot-2.network']);
    expect(readFileSync(join(networkDir, '15-platform-firstboot-1.network'), 'utf8')).toMatch(/\[Match\]\nMACAddress=52:54:00:77:00:11\n\n\[Network\]\nAddress=10\.77\.0\.11\/24\nLinkLocal/);
    expect(readFileSync(join(networkDir, '15-platform-firstboot-2.network'), 'utf8')).toMatch(/\[Match\]\nName=enp0s4\n\n\[Network\]\nAddress=192\.0\.2\.7\/28\nGateway=192\.0\.2\.1\n/);
    rmSync(join(node.home, 'setup.answers'));
  });
});
