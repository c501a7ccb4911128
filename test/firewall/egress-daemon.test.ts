// Strict egress for real: platformd with `--firewall apply` in its own
// network namespace, listeners in two others. A configured destination (a
// backup location, the DNS server) is reached; a host not in the
// configuration is dropped by nft and refused by a command with the policy
// named; `backup del` takes the location's address out of the kernel's sets.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createLan, reachable, removeStale, startListeners, type Lan, type Listeners } from '../support/netns.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const PREFIX = `psed${process.pid % 10000}`;
let lan: Lan;
let node: RunningDaemon;
const listeners: Listeners[] = [];
const host = (name: string) => lan.hosts[name]!;
const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', host('node').ns, 'nft', ...args], { encoding: 'utf8' });

async function settle(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ok = async (...words: string[]) => {
  const result = await node.platform(words);
  expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
};

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.254.1', 'fd00:254:1', { node: 1, target: 2, other: 3 });
  listeners.push(await startListeners(host('target').ns, ['22/tcp', '53/udp', '53/tcp']));
  listeners.push(await startListeners(host('other').ns, ['22/tcp', '53/udp']));
  // `ip netns exec` shows the namespace this hosts file as /etc/hosts: the backup location's name resolves there only.
  mkdirSync(`/etc/netns/${host('node').ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${host('node').ns}/hosts`, `127.0.0.1 localhost\n${host('target').ipv4} backup-target.test\n`);
  node = await startDaemon({ netns: host('node').ns, args: ['--firewall', 'apply'] });
}, 60_000);

afterAll(async () => {
  listeners.forEach((l) => l.stop());
  await node?.stop();
  if (lan) rmSync(`/etc/netns/${host('node').ns}`, { recursive: true, force: true });
  if (existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0) rmdirSync('/etc/netns');
  lan?.destroy();
});

describe('strict egress in the kernel', () => {
  it('lets out the configured destinations only, refuses the rest by name, and follows backup del', async () => {
    const target = host('target').ipv4;
    const other = host('other').ipv4;
    const ns = host('node').ns;
    // By name: strict egress resolves it into the kernel's sets.
    await ok('backup', 'add', 'offsite', 'sftp://u@backup-target.test/srv');
    await ok('network', 'dns', 'add', target);
    // Open: the node reaches anything.
    expect((await reachable(ns, other, ['22/tcp', '53/udp'])).sort()).toEqual(['22/tcp', '53/udp']);

    await ok('firewall', 'egress', 'strict');
    await settle(() => /policy drop/.test(nft('list', 'chain', 'inet', 'platform', 'output')));
    expect((await reachable(ns, target, ['22/tcp', '53/udp', '53/tcp'])).sort()).toEqual(['22/tcp', '53/tcp', '53/udp']);
    const shown = JSON.parse((await ok('--json', 'firewall', 'egress')).stdout);
    expect(shown.destinations).toContainEqual(expect.objectContaining({ host: 'backup-target.test', port: 22, protocol: 'tcp', addresses: [target] }));
    // DNS only to the configured server, nothing to a host not configured.
    expect(await reachable(ns, other, ['22/tcp', '53/udp'])).toEqual([]);

    const tried = await node.platform(['diag', 'uri', `sftp://u@${other}/x`, 'test']);
    expect(tried.stdout + tried.stderr).toContain(`refused by this node's egress policy (firewall egress strict): ${other}:22 is not a configured destination; see firewall egress`);

    await ok('backup', 'del', 'offsite');
    await settle(async () => (await reachable(ns, target, ['22/tcp'], 300)).length === 0);
    expect(await reachable(ns, target, ['53/udp'])).toEqual(['53/udp']);

    await ok('firewall', 'egress', 'open');
    await settle(() => !nft('list', 'table', 'inet', 'platform').includes('chain output'));
    expect((await reachable(ns, other, ['22/tcp'])).sort()).toEqual(['22/tcp']);
  }, 60_000);
});
