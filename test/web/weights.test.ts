// Upstream weights reach nginx, and real requests through the proxy follow
// them; a weight of 0 serves only when every other backend is down.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { freePort, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';
import { nginxLayout } from '../../web/nginx.js';
import { pathsFor } from '../../core/paths.js';
import { Store } from '../../store/db.js';

let node: RunningDaemon;
const HTTPS = freePort();
const backends = new Map<string, { port: number; server?: https.Server }>([
  ['a', { port: freePort() }],
  ['b', { port: freePort() }],
  ['c', { port: freePort() }],
]);

const dir = tempHome('ps-backend-');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=backend'], { stdio: 'ignore' });
const tls = { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) };

function startBackend(name: string): Promise<void> {
  const backend = backends.get(name)!;
  backend.server = https.createServer(tls, (_req, res) => res.end(name));
  return new Promise((resolve) => backend.server!.listen(backend.port, '127.0.0.1', resolve));
}

function stopBackend(name: string): Promise<void> {
  const server = backends.get(name)!.server!;
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function get(): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: HTTPS, path: '/', rejectUnauthorized: false, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

async function tally(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const body = await get();
    counts[body] = (counts[body] ?? 0) + 1;
  }
  return counts;
}

beforeAll(async () => {
  for (const name of backends.keys()) await startBackend(name);
  node = await startDaemon({ args: ['--web-port', String(HTTPS), '--http-port', String(freePort())] });
  await node.platform(['system', 'setup', '--hostname', 'proxy01', '--role', 'webproxy']);
});
afterAll(async () => {
  for (const b of backends.values()) b.server?.close();
  await node?.stop();
});

const server = (name: string) => `127.0.0.1:${backends.get(name)!.port}`;

describe('web weights', () => {
  it('writes the weights into nginx and spreads requests by them', async () => {
    expect((await node.platform(['web', 'weight', 'add', server('a'), '3'])).status).toBe(0);
    expect((await node.platform(['web', 'weight', 'add', server('b'), '1'])).status).toBe(0);
    expect((await node.platform(['web', 'weight', 'add', server('c'), '0'])).status).toBe(0);
    const layout = nginxLayout(pathsFor(node.home));
    const dump = execFileSync('nginx', ['-T', '-p', layout.prefix, '-c', layout.conf], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(dump).toContain(`server ${server('a')} weight=3`);
    expect(dump).toContain(`server ${server('c')} backup`);
    await new Promise((r) => setTimeout(r, 300)); // nginx reloads in the background
    const counts = await tally(40);
    expect(counts).toEqual({ a: 30, b: 10 });
    expect((await node.platform(['web', 'weight', 'list'])).stdout).toContain(`${server('c')}: 0 (backup)`);
  });

  it('uses a weight-0 backend only when the others are down', async () => {
    await stopBackend('a');
    await stopBackend('b');
    const counts = await tally(6);
    expect(counts).toEqual({ c: 6 });
    await startBackend('a');
    await startBackend('b');
  });

  it('serves with weight-0 backends alone: none other is available, so they take turns', async () => {
    expect((await node.platform(['web', 'weight', 'add', server('a'), '0'])).status).toBe(0);
    const last = await node.platform(['web', 'weight', 'add', server('b'), '0']);
    expect(last.status).toBe(0);
    expect(last.stdout).toContain('every backend has weight 0');
    const layout = nginxLayout(pathsFor(node.home));
    // nginx itself accepts the configuration (an upstream of backups only it refuses).
    execFileSync('nginx', ['-t', '-q', '-p', layout.prefix, '-c', layout.conf], { stdio: 'ignore' });
    const conf = readFileSync(layout.conf, 'utf8');
    expect(conf).toContain(`server ${server('a')} max_fails`);
    expect(conf).not.toContain('backup');
    await new Promise((r) => setTimeout(r, 300));
    expect(await tally(6)).toEqual({ a: 2, b: 2, c: 2 });
    expect((await node.platform(['web', 'weight', 'list'])).stdout).toContain(`${server('c')}: 0 (serving: no backend has a weight above 0)`);
    // One weight above 0 makes the others backups again.
    expect((await node.platform(['web', 'weight', 'add', server('a'), '2'])).status).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await tally(4)).toEqual({ a: 4 });
    expect((await node.platform(['web', 'weight', 'list'])).stdout).toContain(`${server('b')}: 0 (backup)`);
  });

  it('returns to the default weight with del, and refuses what it cannot do', async () => {
    // An application node of the cluster is a backend with the default weight.
    const store = Store.open(join(node.home, 'config.db'));
    store.inventory.replace([...store.inventory.list(), { address: '10.250.9.9', hostname: 'app9', roles: ['application'], dataCentre: 'dc1', primary: false }], '2026-01-01T00:00:00.000Z');
    store.close();
    const weights = async () => JSON.parse((await node.platform(['--json', 'web', 'weight', 'list'])).stdout) as { server: string; weight: number }[];
    expect(await weights()).toContainEqual({ server: '10.250.9.9:443', weight: 1 });
    expect((await node.platform(['web', 'weight', 'add', '10.250.9.9:443', '5'])).status).toBe(0);
    expect(await weights()).toContainEqual({ server: '10.250.9.9:443', weight: 5 });
    expect((await node.platform(['web', 'weight', 'del', '10.250.9.9:443'])).status).toBe(0);
    expect(await weights()).toContainEqual({ server: '10.250.9.9:443', weight: 1 });
    // A backend that is no cluster node is forgotten with its weight.
    expect((await node.platform(['web', 'weight', 'del', server('a')])).status).toBe(0);
    expect((await weights()).map((w) => w.server)).not.toContain(server('a'));
    const missing = await node.platform(['web', 'weight', 'del', '127.0.0.1:1']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('has no weight set');
    expect((await node.platform(['web', 'weight', 'add', 'nonsense', '1'])).stderr).toContain('is not host:port');
    expect((await node.platform(['web', 'weight', 'add', server('a'), '-1'])).status).toBe(2);
  });
});
