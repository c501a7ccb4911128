// A cluster for real: four platformd instances, each in its own network
// namespace with its own home and its firewall applied (a webproxy, an
// application, a database and a unified node), plus an outsider with no node.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLan, reachable, removeStale, startListeners, type Lan, type Listeners } from '../support/netns.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const PREFIX = `pscl${process.pid % 10000}`;
const NET = '10.250.20';
const NODES = {
  proxy: { octet: 1, role: 'webproxy' },
  app: { octet: 2, role: 'application' },
  db: { octet: 3, role: 'database' },
  uni: { octet: 4, role: 'unified' },
} as const;
type Name = keyof typeof NODES;
const NAMES = Object.keys(NODES) as Name[];
const PORTS = ['22/tcp', '80/tcp', '443/tcp', '8443/tcp', '27017/tcp', '27019/tcp', '27020/tcp', '27030/tcp'];
const DB_PORTS = ['27017/tcp', '27019/tcp', '27020/tcp', '27030/tcp'];

let lan: Lan;
const daemons: Partial<Record<Name, RunningDaemon>> = {};
const listeners: Listeners[] = [];
const address = (name: Name) => `${NET}.${NODES[name].octet}`;
const on = (name: Name, words: string[]) => daemons[name]!.platform(words);
const json = async (name: Name, words: string[]) => JSON.parse((await on(name, ['--json', ...words])).stdout);

/**
 * What the seed's tables say `from` may reach on `to`: public web ports on
 * proxies and application nodes, SSH everywhere, the cluster port and the
 * database ports along the node-to-node flows (the primary reaches every
 * agent). `from` undefined is the outsider.
 */
function expected(from: Name | undefined, to: Name, primary: Name): string[] {
  const role = NODES[to].role;
  const web = role !== 'database' ? ['80/tcp', '443/tcp'] : [];
  if (!from) return ['22/tcp', ...web].sort();
  const a = new Set(NODES[from].role === 'unified' ? ['application', 'database'] : [NODES[from].role]);
  const b = new Set(role === 'unified' ? ['application', 'database'] : [role]);
  const has = (set: Set<string>, r: string) => set.has(r);
  const clusterFlow =
    from === primary ||
    (has(a, 'webproxy') && (has(b, 'webproxy') || has(b, 'application'))) ||
    (has(a, 'application') && (has(b, 'webproxy') || has(b, 'application') || has(b, 'database'))) ||
    (has(a, 'database') && (has(b, 'application') || has(b, 'database')));
  const dbFlow = has(b, 'database') && (has(a, 'application') || has(a, 'database'));
  return ['22/tcp', ...web, ...(clusterFlow ? ['8443/tcp'] : []), ...(dbFlow ? DB_PORTS : [])].sort();
}

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, NET, 'fd00:250:20', { proxy: 1, app: 2, db: 3, uni: 4, out: 9 });
  await Promise.all(
    NAMES.map(async (name) => {
      const ns = lan.hosts[name]!.ns;
      // No MongoDB or sshd here: plain listeners stand in on their ports.
      listeners.push(await startListeners(ns, ['22/tcp', ...(['db', 'uni'].includes(name) ? DB_PORTS : [])]));
      daemons[name] = await startDaemon({ netns: ns, args: ['--firewall', 'apply', '--web-port', '443', '--http-port', '80', '--cluster-port', '8443'] });
      const setup = await on(name, ['system', 'setup', '--hostname', `${name}01`, '--role', NODES[name].role, '--ip', address(name), '--data-centre', name === 'proxy' ? 'dmz' : 'jhb']);
      expect(setup.status).toBe(0);
    }),
  );
}, 180_000);

afterAll(async () => {
  for (const l of listeners) l.stop();
  await Promise.all(Object.values(daemons).map((d) => d?.stop()));
  lan?.destroy();
});

describe('joining', () => {
  it('refuses a wrong code and a node that is not prepared, and records nothing', async () => {
    const unprepared = await on('uni', ['cluster', 'add', address('app'), '12345-ABCDE']);
    expect(unprepared.status).toBe(1);
    // Its firewall keeps the agent closed until it is prepared.
    expect(unprepared.stderr).toContain('is not responding on the cluster port 8443: run "cluster prepnode" on it first');
    const prepared = await json('app', ['cluster', 'prepnode']);
    expect(prepared.code).toMatch(/^[0-9A-F]{5}-[0-9A-F]{5}$/);
    const wrong = await on('uni', ['cluster', 'add', address('app'), '00000-00000']);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('wrong join code');
    expect(await json('uni', ['cluster', 'list'])).toEqual([]);
    expect((await on('uni', ['cluster', 'add', address('uni'), '00000-00000'])).stderr).toContain('is this node');
    expect((await on('uni', ['cluster', 'add', '10.250.20.77', '00000-00000'])).stderr).toContain('not responding');
  });

  it('joins every node to the primary and provisions them all', async () => {
    for (const name of ['app', 'db', 'proxy'] as const) {
      const prepared = await on(name, ['--json', 'cluster', 'prepnode']);
      expect(prepared.stderr, `${name}: ${daemons[name]!.output().slice(-2000)}`).toBe('');
      const { code } = JSON.parse(prepared.stdout);
      const added = await on('uni', ['cluster', 'add', address(name), code]);
      expect(added.stderr).toContain(`issuing the cluster certificate of ${name}01`); // progress
      expect(added.status).toBe(0);
    }
    expect((await on('uni', ['cluster', 'add', address('app'), '00000-00000'])).stderr).toContain('already in the cluster');
    const provision = await on('uni', ['cluster', 'provision']);
    expect(provision.stderr).toMatch(/app01\[10\.250\.20\.2\]: commit ok/);
    expect(provision.status).toBe(0);
    const list = (await json('db', ['cluster', 'list'])) as { address: string; primary: boolean }[];
    expect(list.map((n) => n.address).sort()).toEqual(NAMES.map(address).sort());
    expect(list.find((n) => n.primary)?.address).toBe(address('uni'));
  });
});

describe('the cluster at work', () => {
  it("admits exactly the seed's flows between every pair, and only public ports to an outsider", async () => {
    await new Promise((r) => setTimeout(r, 600)); // the firewalls' watchers pick up the inventory
    for (const to of NAMES) {
      for (const from of [...NAMES.filter((n) => n !== to), undefined]) {
        const source = from ? lan.hosts[from]!.ns : lan.hosts.out!.ns;
        const got = (await reachable(source, address(to), PORTS, 500)).sort();
        expect(got, `${from ?? 'outsider'} -> ${to}`).toEqual(expected(from, to, 'uni'));
      }
    }
  });

  it('cluster check agrees, from every node', async () => {
    const result = await on('uni', ['--json', 'cluster', 'check']);
    const rows = JSON.parse(result.stdout) as { from: string; to: string; port: number; outcome: string }[];
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((r) => r.outcome !== 'ok')).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('shows the nodes by data centre and role', async () => {
    const status = (await on('uni', ['cluster', 'status'])).stdout;
    expect(status).toContain('Data Centre: jhb');
    expect(status).toContain('Data Centre: dmz');
    expect(status).toMatch(/webproxy : proxy01\[10\.250\.20\.1\]/);
  });

  it('runs a command on every node and reports each', async () => {
    const result = await on('uni', ['cluster', 'run', 'all', 'system', 'info']);
    expect(result.status).toBe(0);
    for (const name of NAMES) expect(result.stdout).toContain(`hostname: ${name}01`);
    const failing = await on('uni', ['cluster', 'run', 'database', 'web', 'sslv3', 'on']);
    expect(failing.status).toBe(1);
    expect(failing.stdout).toContain('SSLv3 cannot be enabled');
  });

  it('leaves every node as it was when one node fails validation', async () => {
    const before = await json('app', ['cluster', 'list']);
    expect((await on('db', ['system', 'maintenance-mode', 'start', '--yes'])).status).toBe(0);
    const provision = await on('uni', ['cluster', 'provision']);
    expect(provision.status).toBe(1);
    expect(provision.stderr).toContain('db01[10.250.20.3] in maintenance mode');
    expect(await json('app', ['cluster', 'list'])).toEqual(before);
    await on('db', ['system', 'maintenance-mode', 'stop', '--yes']);
  });

  it('shows a killed node as not responding', async () => {
    daemons.proxy!.process.kill('SIGKILL');
    await new Promise((r) => daemons.proxy!.process.once('exit', r));
    const status = (await on('uni', ['cluster', 'status'])).stdout;
    expect(status).toMatch(/proxy01\[10\.250\.20\.1\] \(not responding\)/);
    const check = JSON.parse((await on('uni', ['--json', 'cluster', 'check'])).stdout) as { from: string; outcome: string }[];
    expect(check.filter((r) => r.from === address('proxy')).every((r) => r.outcome === 'not responding')).toBe(true);
  });

  it('removes a node, and its access to the cluster ports ends on every node', async () => {
    // The killed proxy comes back with its home as it was.
    const proxy = daemons.proxy!;
    daemons.proxy = await startDaemon({ home: proxy.home, netns: lan.hosts.proxy!.ns, args: ['--firewall', 'apply', '--web-port', '443', '--http-port', '80', '--cluster-port', '8443'] });
    expect(await reachable(lan.hosts.app!.ns, address('db'), ['27017/tcp'])).toEqual(['27017/tcp']);
    const del = await on('uni', ['cluster', 'del', address('app'), '--yes']);
    expect(del.stdout).toContain(`removed ${address('app')}`);
    expect(del.status).toBe(0);
    const start = Date.now();
    for (const to of ['db', 'uni', 'proxy'] as const) {
      while ((await reachable(lan.hosts.app!.ns, address(to), ['8443/tcp', '27017/tcp'], 300)).length > 0) {
        if (Date.now() - start > 5000) throw new Error(`app still reaches ${to}`);
      }
    }
    expect((await json('db', ['cluster', 'list'])).map((n: { address: string }) => n.address)).not.toContain(address('app'));
  });
});
