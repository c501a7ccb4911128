// The dynamic firewall for real: platformd with `--firewall apply` in its own
// network namespace, listeners on every catalog port, and probes from a
// cluster peer and from an outsider in other namespaces.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Store } from '../../store/db.js';
import { createLan, reachable, removeStale, startListeners, type Lan, type Listeners } from '../support/netns.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const PREFIX = `psfw${process.pid % 10000}`;
const ALL_PORTS = ['22/tcp', '80/tcp', '443/tcp', '8443/tcp', '27017/tcp', '27019/tcp', '27020/tcp', '27030/tcp', '161/udp', '162/udp'];

// What the seed's tables say each role must accept (Service and Ports list,
// node-to-node tables): from a cluster peer, and from anyone else.
const SEED: Record<string, { peer: string[]; outsider: string[] }> = {
  webproxy: { peer: ['22/tcp', '80/tcp', '443/tcp', '8443/tcp', '161/udp', '162/udp'], outsider: ['22/tcp', '80/tcp', '443/tcp', '161/udp', '162/udp'] },
  application: { peer: ['22/tcp', '80/tcp', '443/tcp', '8443/tcp', '161/udp', '162/udp'], outsider: ['22/tcp', '80/tcp', '443/tcp', '161/udp', '162/udp'] },
  database: {
    peer: ['22/tcp', '8443/tcp', '27017/tcp', '27019/tcp', '27020/tcp', '27030/tcp', '161/udp', '162/udp'],
    outsider: ['22/tcp', '161/udp', '162/udp'],
  },
  unified: { peer: ALL_PORTS, outsider: ['22/tcp', '80/tcp', '443/tcp', '161/udp', '162/udp'] },
};

let lan: Lan;
let node: RunningDaemon;
let listeners: Listeners;
const nodeHost = () => lan.hosts.node!;
const sorted = (keys: string[]) => [...keys].sort();
const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', nodeHost().ns, 'nft', ...args], { encoding: 'utf8' });

async function settle(check: () => Promise<boolean>, timeoutMs = 3000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - start;
}

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.250.1', 'fd00:250:1', { node: 1, peer: 2, out: 3 });
  listeners = await startListeners(nodeHost().ns, ALL_PORTS);
  node = await startDaemon({ netns: nodeHost().ns, args: ['--firewall', 'apply', '--web-port', '443', '--http-port', '80', '--cluster-port', '8443'] });
  const store = Store.open(join(node.home, 'config.db'));
  const peer = { roles: ['application' as const], dataCentre: 'dc1', primary: false };
  store.inventory.replace([...store.inventory.list(), { ...peer, address: lan.hosts.peer!.ipv4, hostname: 'peer4' }, { ...peer, address: lan.hosts.peer!.ipv6, hostname: 'peer6' }], new Date().toISOString());
  store.close();
});

afterAll(async () => {
  listeners?.stop();
  await node?.stop();
  lan?.destroy();
});

/** The "port/protocol" keys the kernel's input chain has rules for: what a probe meets. */
function kernelPorts(): string[] {
  const keys = new Set<string>();
  for (const [, protocol, ports] of nft('list', 'chain', 'inet', 'platform', 'input').matchAll(/\b(tcp|udp) dport (\d+|\{[^}]*\})/g)) {
    for (const port of ports!.match(/\d+/g)!) keys.add(`${port}/${protocol}`);
  }
  return sorted([...keys]);
}

async function setRoles(roles: string) {
  const result = await node.platform(['system', 'setup', '--hostname', 'fw01', '--role', roles]);
  expect(result.status).toBe(0);
  // The daemon notices the role change by itself, within a second. `firewall
  // rules` shows its new policy at once, before its watch loop has loaded it:
  // wait until the kernel has rules for exactly the ports the daemon reports open.
  const expected = SEED[roles.split(',')[0]!]!.peer;
  let seen = '';
  await settle(async () => {
    const show = await node.platform(['--json', 'firewall', 'rules']);
    const open = sorted((JSON.parse(show.stdout) as { port: string; protocol: string; state: string }[]).filter((r) => r.state === 'open').map((r) => `${r.port}/${r.protocol}`));
    const kernel = kernelPorts();
    seen = `daemon reports open ${open.join(' ')}; kernel has rules for ${kernel.join(' ')}`;
    return open.length === expected.length && kernel.join(' ') === open.join(' ');
  }).catch((error: Error) => {
    throw new Error(`${error.message} (${roles}: ${seen})`);
  });
}

describe('the ruleset in the kernel', () => {
  for (const role of Object.keys(SEED)) {
    it(`admits exactly the seed's ports for a ${role} node, over IPv4 and IPv6`, async () => {
      await setRoles(role);
      for (const family of ['ipv4', 'ipv6'] as const) {
        const target = nodeHost()[family];
        expect(sorted(await reachable(lan.hosts.peer!.ns, target, ALL_PORTS)), `${role} from peer over ${family}`).toEqual(sorted(SEED[role]!.peer));
        expect(sorted(await reachable(lan.hosts.out!.ns, target, ALL_PORTS)), `${role} from outsider over ${family}`).toEqual(sorted(SEED[role]!.outsider));
      }
    });
  }

  // How fast it happens is measured by bench/firewall.bench.mjs (app stop → port closed); here, that it happens unasked.
  it('closes a stopped service by itself and opens it again when it starts', async () => {
    await setRoles('unified');
    const peer = lan.hosts.peer!.ns;
    await listeners.close('27020/tcp');
    // Without a listener the node itself would answer "refused"; the firewall must drop it.
    await settle(async () => !/27020/.test(nft('list', 'chain', 'inet', 'platform', 'input')), 10_000);
    expect(await reachable(peer, nodeHost().ipv4, ['27020/tcp', '27017/tcp'], 300)).toEqual(['27017/tcp']);
    await listeners.open('27020/tcp');
    await settle(async () => (await reachable(peer, nodeHost().ipv4, ['27020/tcp'], 300)).length === 1, 10_000);
  });

  it('keeps an established connection through a reload', async () => {
    // A long-lived echo client in the peer namespace, talking to 443.
    const program = `const c=require('node:net').connect(443,'${nodeHost().ipv4}',()=>{process.stdout.write('up\\n')});c.on('data',d=>process.stdout.write(d));process.stdin.on('data',d=>c.write(d));c.on('close',()=>process.stdout.write('closed\\n'))`;
    const client = spawn('ip', ['netns', 'exec', lan.hosts.peer!.ns, process.execPath, '-e', program], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    client.stdout.on('data', (d) => (out += d));
    try {
      await settle(async () => out.includes('up'));
      // Change the roles: a full table replacement.
      await setRoles('webproxy');
      client.stdin.write('still-there\n');
      await settle(async () => out.includes('still-there'));
      expect(out).not.toContain('closed');
    } finally {
      client.kill();
    }
  });

  it('cuts off a source that opens connections faster than the limit while another still connects', async () => {
    await setRoles('webproxy');
    expect((await node.platform(['firewall', 'limits', 'set', 'publicPerSecond', '2'])).status).toBe(0);
    expect((await node.platform(['firewall', 'confirm'])).status).toBe(0);
    expect((await node.platform(['firewall', 'limits', 'set', 'publicBurst', '3'])).status).toBe(0);
    expect((await node.platform(['firewall', 'confirm'])).status).toBe(0);
    // 12 connections at once from the outsider: the burst passes, the rest are dropped.
    const keys = Array.from({ length: 12 }, () => '443/tcp');
    const flood = await reachable(lan.hosts.out!.ns, nodeHost().ipv4, keys, 500);
    expect(flood.length).toBeGreaterThan(0);
    expect(flood.length).toBeLessThan(12);
    expect(await reachable(lan.hosts.peer!.ns, nodeHost().ipv4, ['443/tcp'])).toEqual(['443/tcp']);
  });
});

describe('confirmed commits', () => {
  it('rolls back a change that is not confirmed in time', async () => {
    const before = nft('list', 'set', 'inet', 'platform', 'management_v4');
    const allow = await node.platform(['firewall', 'allow', lan.hosts.peer!.ipv4, '2']);
    expect(allow.status).toBe(0);
    expect(allow.stdout).toMatch(/applied; rolls back at \d\d:\d\d:\d\d UTC \(in 2 s\) unless you run "firewall confirm"/);
    expect(nft('list', 'set', 'inet', 'platform', 'management_v4')).toContain(lan.hosts.peer!.ipv4);
    // Only the management source reaches SSH now.
    expect(await reachable(lan.hosts.out!.ns, nodeHost().ipv4, ['22/tcp'])).toEqual([]);
    expect(await reachable(lan.hosts.peer!.ns, nodeHost().ipv4, ['22/tcp'])).toEqual(['22/tcp']);
    await settle(async () => !nft('list', 'set', 'inet', 'platform', 'management_v4').includes(lan.hosts.peer!.ipv4), 5000);
    expect(nft('list', 'set', 'inet', 'platform', 'management_v4')).toBe(before);
    expect(await reachable(lan.hosts.out!.ns, nodeHost().ipv4, ['22/tcp'])).toEqual(['22/tcp']);
  });

  it("refuses a change that would cut the administrator's own SSH session", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, SSH_CONNECTION: `${lan.hosts.out!.ipv4} 50123 ${nodeHost().ipv4} 22` };
    delete env.CI;
    const refused = await node.platform(['firewall', 'allow', lan.hosts.peer!.ipv4], { env });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`would cut your own SSH session from ${lan.hosts.out!.ipv4}`);
    expect(nft('list', 'set', 'inet', 'platform', 'management_v4')).not.toContain(lan.hosts.peer!.ipv4);
  });

  it('refuses malicious values with a clear message before they reach nft', async () => {
    for (const value of ['10.0.0.1;flush ruleset', '10.0.0.1}', 'fd00::1\nx']) {
      const result = await node.platform(['firewall', 'allow', value]);
      expect(result.status, value).toBe(2);
      expect(result.stderr).toContain('not an IPv4 or IPv6 address');
    }
  });
});

describe('first up, last down', () => {
  it('leaves the ruleset in the kernel when the daemon is killed', async () => {
    // The rules, not the meters: their elements' expiry timers tick.
    const before = nft('list', 'chain', 'inet', 'platform', 'input');
    node.process.kill('SIGKILL');
    await new Promise((r) => node.process.once('exit', r));
    expect(nft('list', 'chain', 'inet', 'platform', 'input')).toBe(before);
    // And the saved last good ruleset loads on its own (what boot does).
    nft('delete', 'table', 'inet', 'platform');
    execFileSync('ip', ['netns', 'exec', nodeHost().ns, 'nft', '-f', join(node.home, 'firewall', 'last-good.nft')]);
    expect(nft('list', 'table', 'inet', 'platform')).toContain('policy drop');
  });
});
