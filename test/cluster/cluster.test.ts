// A cluster for real: four platformd instances, each in its own network
// namespace with its own home and its firewall applied (a webproxy, an
// application, a database and a unified node), plus an outsider with no node.

import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLan, reachable, removeStale, startListeners, type Lan, type Listeners } from '../support/netns.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { groups } from '../../commands/index.js';
import { shapeProblems } from '../../core/json-shape.js';
import { AGENT_PROTOCOL_VERSION, VERSION_HEADERS } from '../../cluster/protocol-version.js';

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
const commandAt = (words: string[]) => groups.flatMap((g) => g.commands).find((c) => c.words.join(' ') === words.join(' '))!;
const json = async (name: Name, words: string[]) => JSON.parse((await on(name, ['--json', ...words])).stdout);

/**
 * Calls a route of a node's agent from inside a namespace, presenting the
 * cluster certificate found in `certHome` (or none); returns the HTTP status.
 */
async function agentStatus(fromNs: string, to: Name, route: string, certHome?: string): Promise<number> {
  return Number((await agentCall(fromNs, to, route, certHome)).split(' ')[0]) || 0;
}

/** The same, answering "status body". */
function agentCall(fromNs: string, to: Name, route: string, certHome?: string): Promise<string> {
  const program = `
    const https = require('node:https'), fs = require('node:fs');
    const [host, route, dir] = process.argv.slice(1);
    const tls = dir ? { key: fs.readFileSync(dir + '/node.key'), cert: fs.readFileSync(dir + '/node.pem') } : {};
    const headers = { '${VERSION_HEADERS.protocol}': '${AGENT_PROTOCOL_VERSION}', '${VERSION_HEADERS.product}': 'test' };
    const req = https.request({ host, port: 8443, path: '/' + route, method: 'POST', headers, rejectUnauthorized: false, agent: false, timeout: 3000, ...tls }, (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => console.log(res.statusCode + ' ' + b)); });
    req.on('error', (e) => console.log('error ' + e.message));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify({ words: ['system', 'info'] }));`;
  const args = ['netns', 'exec', fromNs, process.execPath, '-e', program, address(to), route, ...(certHome ? [join(certHome, 'certs', 'cluster')] : [])];
  return new Promise((resolve) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => resolve(out.trim()));
  });
}

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

  it('refuses an expired join code, and records nothing', async () => {
    const prepared = await json('app', ['cluster', 'prepnode']);
    // Fifteen minutes are long for a test: the window is moved into the past in the node's own store.
    execFileSync('sqlite3', [join(daemons.app!.home, 'config.db'), `UPDATE settings SET value = json_set(value, '$.until', '2000-01-01T00:00:00.000Z') WHERE key = 'cluster.joinable'`]);
    // The firewall closes the agent again when the window ends...
    const start = Date.now();
    while ((await reachable(lan.hosts.uni!.ns, address('app'), ['8443/tcp'], 300)).length > 0) {
      if (Date.now() - start > 3000) throw new Error('the agent stayed open after the join window ended');
    }
    const expired = await on('uni', ['cluster', 'add', address('app'), prepared.code]);
    expect(expired.status).toBe(1);
    expect(expired.stderr).toContain('not responding');
    // ...and the agent itself (asked from the node, which its firewall lets through) says why.
    expect(await agentCall(lan.hosts.app!.ns, 'app', 'join/hello')).toMatch(/^403 .*join code expired/);
    expect(await json('uni', ['cluster', 'list'])).toEqual([]);
    expect(await json('app', ['cluster', 'list'])).toEqual([]);
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
    expect((await on('uni', ['cluster', 'provision', 'serial'])).status).toBe(0);
    // The web proxy's upstreams are the application nodes of the inventory.
    expect((await json('proxy', ['web', 'weight', 'list'])).map((b: { server: string }) => b.server)).toEqual([`${address('app')}:443`, `${address('uni')}:443`]);
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
    const rows = JSON.parse(result.stdout) as { from: string; to: string; port: number; expected: string; outcome: string; pass: boolean }[];
    expect(rows.filter((r) => !r.pass)).toEqual([]);
    expect(result.status).toBe(0);
    // Every pair and port it tested agrees with real probes from the test's side.
    const name = (ip: string) => NAMES.find((n) => address(n) === ip)!;
    for (const r of rows) {
      expect(expected(name(r.from), name(r.to), 'uni').includes(`${r.port}/tcp`), `${r.from} -> ${r.to}:${r.port}`).toBe(r.outcome === 'ok');
    }
    // The flows of the seed, and the outsider's side: a proxy has no business with the database.
    expect(rows.find((r) => r.from === address('proxy') && r.to === address('app') && r.port === 443)).toMatchObject({ expected: 'open', outcome: 'ok' });
    expect(rows.find((r) => r.from === address('app') && r.to === address('db') && r.port === 27017)).toMatchObject({ expected: 'open', outcome: 'ok' });
    expect(rows.find((r) => r.from === address('proxy') && r.to === address('db') && r.port === 27017)).toMatchObject({ expected: 'blocked', outcome: 'blocked' });
    expect(rows.find((r) => r.from === address('db') && r.to === address('proxy') && r.port === 8443)).toMatchObject({ expected: 'blocked', outcome: 'blocked' });
    const text = (await on('uni', ['cluster', 'check'])).stdout;
    expect(text).toMatch(/from \\ to/);
  });

  it('answers only members at the agent, whatever the firewall lets through', async () => {
    // db may reach uni's agent; without a certificate of the cluster it gets no further.
    expect(await agentStatus(lan.hosts.db!.ns, 'uni', 'ping')).toBe(403);
    expect(await agentStatus(lan.hosts.db!.ns, 'uni', 'ping', daemons.db!.home)).toBe(200);
    // A member that is not the primary may look, not command.
    expect(await agentStatus(lan.hosts.db!.ns, 'app', 'run', daemons.db!.home)).toBe(403);
    expect(await agentStatus(lan.hosts.uni!.ns, 'app', 'run', daemons.uni!.home)).toBe(200);
  });

  it('shows the nodes by data centre and role, with the versions each speaks', async () => {
    const status = (await on('uni', ['cluster', 'status'])).stdout;
    expect(status).toMatch(/db01\[10\.250\.20\.3\] +\S+ +1 +ok/);
    const list = (await json('db', ['cluster', 'list'])) as { address: string; version: string | null; protocol: number | null }[];
    // db names its own versions, and learnt none of the others' (only the primary asked them).
    expect(list.find((n) => n.address === address('db'))).toMatchObject({ protocol: AGENT_PROTOCOL_VERSION, version: expect.any(String) });
    for (const n of await json('uni', ['cluster', 'list'])) expect(n).toMatchObject({ protocol: AGENT_PROTOCOL_VERSION, version: expect.stringMatching(/^\S+$/) });
    expect(status).toContain('Data Centre: jhb');
    expect(status).toContain('Data Centre: dmz');
    expect(status).toMatch(/webproxy : proxy01\[10\.250\.20\.1\]/);
    expect(status).toContain('     application : app01[10.250.20.2]\n                   uni01[10.250.20.4]\n');
  });

  it('runs a command on every node and reports each', async () => {
    const result = await on('uni', ['cluster', 'run', 'all', 'system', 'info']);
    expect(result.status).toBe(0);
    for (const name of NAMES) expect(result.stdout).toContain(`hostname: ${name}01`);
    const failing = await on('uni', ['cluster', 'run', 'database', 'web', 'sslv3', 'on']);
    expect(failing.status).toBe(1);
    expect(failing.stdout).toContain('SSLv3 cannot be enabled');
  });

  it('brings back each node\'s data, so --json cluster run is an array of objects', async () => {
    const printed = await json('uni', ['cluster', 'run', 'all', 'system', 'info']);
    expect(shapeProblems(commandAt(['cluster', 'run']).json!, printed)).toEqual([]);
    const byNode = new Map((printed as { node: string; exitStatus: number; data: { hostname: string; roles: string[] } }[]).map((r) => [r.node, r]));
    expect([...byNode.keys()].sort()).toEqual(NAMES.map(address).sort());
    for (const name of NAMES) {
      expect(byNode.get(address(name))).toMatchObject({ hostname: `${name}01`, exitStatus: 0, error: null, data: { hostname: `${name}01`, roles: [NODES[name].role] } });
    }
    // A node's own data keeps its shape, and a refusal arrives as an error with its code.
    expect(shapeProblems(commandAt(['system', 'info']).json!, byNode.get(address('db'))!.data)).toEqual([]);
    const failing = await json('uni', ['cluster', 'run', 'database', 'web', 'sslv3', 'on']);
    expect(failing).toHaveLength(2);
    for (const r of failing) expect(r).toMatchObject({ exitStatus: 1, data: null, error: { code: expect.any(String), message: expect.stringContaining('SSLv3 cannot be enabled') } });
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
    expect(status).toMatch(/Data Centre: unknown\n     webproxy : proxy01\[10\.250\.20\.1\] \(not responding\)/);
    const run = await on('uni', ['cluster', 'run', '--timeout', '2', 'all', 'system', 'info']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('== proxy01[10.250.20.1]: failed');
    expect(run.stdout).toContain('hostname: db01');
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
    expect((await json('proxy', ['web', 'weight', 'list'])).map((b: { server: string }) => b.server)).toEqual([`${address('uni')}:443`]);
    // Its certificate is still signed by the cluster CA, yet no node accepts it any more.
    expect(await agentStatus(lan.hosts.db!.ns, 'uni', 'ping', daemons.app!.home)).toBe(403);
    // It was told, forgot the cluster, and may be prepared again.
    expect(await json('app', ['cluster', 'list'])).toEqual([]);
    expect((await on('app', ['cluster', 'prepnode'])).status).toBe(0);
  });
});
