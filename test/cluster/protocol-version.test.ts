// The agent protocol's version, between real nodes and fake agents that
// speak another version: three platformd nodes (the primary uni, app, db) in
// namespaces of their own, and on other namespaces fake agents answering in
// the version the test gives them (support/cluster.ts). A node refuses a
// request of a version it cannot speak, naming both; the primary refuses to
// add or provision such a node, naming it and both versions; a version one
// apart (a rolling upgrade) keeps working.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_PORT, certsOf, startCluster, startFakeAgent, type FakeAgent, type TestCluster } from '../support/cluster.js';
import { AGENT_PROTOCOL_VERSION, VERSION_HEADERS } from '../../cluster/protocol-version.js';
import { clusterFiles, ensureIdentity } from '../../cluster/identity.js';
import type { Paths } from '../../core/paths.js';

type Name = 'uni' | 'app' | 'db';
const NET = '10.250.122';
const NEXT = AGENT_PROTOCOL_VERSION + 1; // one apart: works
const FAR = AGENT_PROTOCOL_VERSION + 2; // two apart: refused
const OURS = new RegExp(`this node speaks ${AGENT_PROTOCOL_VERSION} \\(platform [^)]+\\) and works with ${Math.max(1, AGENT_PROTOCOL_VERSION - 1)} to ${NEXT}`);
let cluster: TestCluster<Name>;
let dir: string;
const fakes: FakeAgent[] = [];
const label = (name: Name) => `${name}01[${cluster.address(name)}]`;

/** A request to a node's agent from inside a namespace, with the given headers and (optionally) a member's certificate. */
function agentRequest(fromNs: string, host: string, route: string, headers: Record<string, string>, certDir?: string): Promise<{ status: number; protocol?: string; body: { error?: string } }> {
  const program = `
    const https = require('node:https'), fs = require('node:fs');
    const [host, port, route, headers, dir] = process.argv.slice(1);
    const tls = dir ? { key: fs.readFileSync(dir + '/node.key'), cert: fs.readFileSync(dir + '/node.pem') } : {};
    const req = https.request({ host, port, path: '/' + route, method: 'POST', headers: JSON.parse(headers), rejectUnauthorized: false, agent: false, timeout: 3000, ...tls }, (res) => {
      let b = ''; res.on('data', (d) => (b += d));
      res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, protocol: res.headers['${VERSION_HEADERS.protocol}'], body: JSON.parse(b) })));
    });
    req.on('error', (e) => console.log(JSON.stringify({ status: 0, body: { error: e.message } })));
    req.end('{}');`;
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', fromNs, process.execPath, '-e', program, host, String(CLUSTER_PORT), route, JSON.stringify(headers), ...(certDir ? [certDir] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => resolve(JSON.parse(out)));
  });
}
const speaking = (protocol: number | string, product = '9.9.9') => ({ [VERSION_HEADERS.protocol]: String(protocol), [VERSION_HEADERS.product]: product });

/** A fresh self-signed cluster identity, as a node that ran `cluster prepnode` presents. */
async function identity(name: string): Promise<string> {
  const files = clusterFiles({ certs: join(dir, name) } as Paths);
  await ensureIdentity(files, name);
  return files.dir;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ps-protocol-'));
  cluster = await startCluster<Name>({ prefix: `pspv${process.pid % 10000}`, net: NET, roles: { uni: 'unified', app: 'application', db: 'database' }, outsiders: { far: 9, next: 10 } });
}, 180_000);

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('a node and the requests it gets', () => {
  it('refuses a request of a version it cannot speak, naming both, and serves one a version apart', async () => {
    const from = cluster.lan.hosts.uni!.ns;
    const far = await agentRequest(from, cluster.address('app'), 'ping', speaking(FAR), certsOf(cluster.daemons.uni));
    expect(far.status).toBe(426);
    expect(far.protocol).toBe(String(AGENT_PROTOCOL_VERSION));
    expect(far.body.error).toContain(`the request speaks agent protocol ${FAR} (platform 9.9.9); this node speaks ${AGENT_PROTOCOL_VERSION} and works with`);
    const next = await agentRequest(from, cluster.address('app'), 'ping', speaking(NEXT), certsOf(cluster.daemons.uni));
    expect(next.status).toBe(200);
    expect(next.protocol).toBe(String(AGENT_PROTOCOL_VERSION));
    const none = await agentRequest(from, cluster.address('app'), 'ping', {}, certsOf(cluster.daemons.uni));
    expect(none.status).toBe(400);
    expect(none.body.error).toContain('names no agent protocol version');
  });
});

describe('the primary and a node of another version', () => {
  it('refuses to add a node two versions apart, naming it and both versions, and records nothing', async () => {
    const fake = await startFakeAgent(cluster.lan.hosts.far!.ns, await identity('far'), String(FAR), '9.0.0');
    fakes.push(fake);
    const before = await cluster.json('uni', ['cluster', 'list']);
    const added = await cluster.on('uni', ['cluster', 'add', `${NET}.9`, '12345-ABCDE']);
    expect(added.status).toBe(1);
    expect(added.stderr).toContain(`cannot add ${NET}.9: it speaks agent protocol ${FAR} (platform 9.0.0); this node speaks ${AGENT_PROTOCOL_VERSION}`);
    expect(added.stderr).toMatch(OURS);
    expect(await cluster.json('uni', ['cluster', 'list'])).toEqual(before);
    // The primary named its own version in the request.
    expect(fake.seen().map((r) => [r.route, r.headers[VERSION_HEADERS.protocol]])).toEqual([['join/hello', String(AGENT_PROTOCOL_VERSION)]]);
  });

  it('names a member two versions apart in status and list, provisions nothing, and leaves it out of maintenance mode by name', async () => {
    const appInventory = await cluster.json('app', ['cluster', 'list']);
    // db's node is upgraded two versions at once: its agent (same identity) now speaks FAR.
    await cluster.daemons.db.stop({ keepHome: true });
    const fake = await startFakeAgent(cluster.lan.hosts.db!.ns, certsOf(cluster.daemons.db), String(FAR), '9.0.0');
    fakes.push(fake);

    const status = await cluster.on('uni', ['cluster', 'status']);
    expect(status.stdout).toContain(`${label('db')} (speaks agent protocol ${FAR} (platform 9.0.0); this node speaks ${AGENT_PROTOCOL_VERSION}`);
    expect(status.stdout).toMatch(new RegExp(`db01\\[${NET.replace(/\./g, '\\.')}\\.3\\] +9\\.0\\.0 +${FAR} +speaks agent protocol`));
    const listed = (await cluster.json('uni', ['cluster', 'list'])) as { hostname: string; version: string; protocol: number }[];
    expect(listed.find((n) => n.hostname === 'db01')).toMatchObject({ version: '9.0.0', protocol: FAR });
    expect(listed.find((n) => n.hostname === 'app01')).toMatchObject({ protocol: AGENT_PROTOCOL_VERSION });

    const provision = await cluster.on('uni', ['cluster', 'provision']);
    expect(provision.status).toBe(1);
    expect(provision.stderr).toContain(`nothing changed: ${label('db')} speaks agent protocol ${FAR} (platform 9.0.0); this node speaks ${AGENT_PROTOCOL_VERSION}`);
    expect(await cluster.json('app', ['cluster', 'list'])).toEqual(appInventory);

    const maintenance = await cluster.on('uni', ['cluster', 'maintenance-mode', 'start', '--yes']);
    expect(maintenance.status).toBe(1);
    expect(maintenance.stdout + maintenance.stderr).toContain(`NOT changed: ${label('db')}: speaks agent protocol ${FAR}`);
    expect((await cluster.json('app', ['system', 'maintenance-mode', 'status'])).maintenanceMode).toBe(true);
    expect((await cluster.on('uni', ['cluster', 'maintenance-mode', 'stop', '--yes'])).status).toBe(1);
    expect((await cluster.json('app', ['system', 'maintenance-mode', 'status'])).maintenanceMode).toBe(false);

    // Every request the primary sent it named the primary's version and came with its member certificate.
    const seen = fake.seen();
    expect(seen.length).toBeGreaterThan(2);
    for (const r of seen) expect(r).toMatchObject({ certificate: true, headers: { [VERSION_HEADERS.protocol]: String(AGENT_PROTOCOL_VERSION) } });

    // Back on this build: the node answers as before.
    await fake.stop();
    await cluster.restart('db');
    const back = await cluster.on('uni', ['cluster', 'status']);
    expect(back.stdout).toMatch(new RegExp(`db01\\[${NET.replace(/\./g, '\\.')}\\.3\\] +\\S+ +${AGENT_PROTOCOL_VERSION} +ok`));
    expect((await cluster.on('uni', ['cluster', 'provision'])).status).toBe(0);
  });

  it('adds a node one version ahead, as in a rolling upgrade, and lists its versions', async () => {
    const node = { address: `${NET}.10`, hostname: 'next01', roles: ['application'], dataCentre: 'jhb', primary: false };
    const fake = await startFakeAgent(cluster.lan.hosts.next!.ns, await identity('next'), String(NEXT), '9.1.0', { 'join/hello': `@${JSON.stringify(node)}`, 'join/complete': { joined: true } });
    fakes.push(fake);
    const added = await cluster.on('uni', ['cluster', 'add', `${NET}.10`, '12345-ABCDE']);
    expect(added.stderr).not.toContain('speaks agent protocol');
    expect(added.status).toBe(0);
    expect(fake.seen().map((r) => r.route)).toEqual(['join/hello', 'join/complete']);
    const listed = (await cluster.json('uni', ['cluster', 'list'])) as { hostname: string; version: string; protocol: number }[];
    expect(listed.find((n) => n.hostname === 'next01')).toMatchObject({ version: '9.1.0', protocol: NEXT });
    expect((await cluster.on('uni', ['cluster', 'list'])).stdout).toMatch(new RegExp(`next01 .* 9\\.1\\.0 +${NEXT}`));
  });
});
