// Web services (the admin and selfservice portals) through a real nginx: a
// disabled one's URLs redirect to the enabled one, the last enabled one
// stays, and a configuration nginx refuses changes nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { freePort, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';
import { nginxLayout } from '../../web/nginx.js';
import { pathsFor } from '../../core/paths.js';
import { groups } from '../../commands/index.js';
import { buildTree, complete } from '../../commands/tree.js';

let node: RunningDaemon;
const HTTPS = freePort();
const HTTP = freePort();
const BACKEND = freePort();
let backend: https.Server;

const dir = tempHome('ps-portal-');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=backend'], { stdio: 'ignore' });

interface Answer {
  status: number;
  location?: string;
  body: string;
}

function request(path: string, port = HTTPS): Promise<Answer> {
  const get = port === HTTPS ? https.get : http.get;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false, headers: { host: 'proxy01.example.test' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, body }));
    }).on('error', reject);
  });
}

const listed = async () => JSON.parse((await node.platform(['--json', 'web', 'service', 'list'])).stdout) as { name: string; enabled: boolean; redirectTo: string | null }[];
const liveConfig = () => readFileSync(nginxLayout(pathsFor(node.home)).conf, 'utf8');
const redirectUrl = (path: string) => `https://proxy01.example.test:${HTTPS}${path}`;

beforeAll(async () => {
  backend = https.createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (req, res) => res.end(`app:${req.url}`));
  await new Promise<void>((resolve) => backend.listen(BACKEND, '127.0.0.1', resolve));
  node = await startDaemon({ args: ['--web-port', String(HTTPS), '--http-port', String(HTTP)] });
  await node.platform(['system', 'setup', '--hostname', 'proxy01', '--role', 'webproxy']);
  expect((await node.platform(['web', 'weight', 'add', `127.0.0.1:${BACKEND}`, '1'])).status).toBe(0);
});
afterAll(async () => {
  backend?.close();
  await node?.stop();
});

describe('web services', () => {
  it('serves both portals to begin with', async () => {
    expect(await listed()).toEqual([
      expect.objectContaining({ name: 'admin', enabled: true, redirectTo: null }),
      expect.objectContaining({ name: 'selfservice', enabled: true, redirectTo: null }),
    ]);
    expect(await request('/admin/login')).toMatchObject({ status: 200, body: 'app:/admin/login' });
    expect(await request('/selfservice/me')).toMatchObject({ status: 200, body: 'app:/selfservice/me' });
    const text = await node.platform(['web', 'service', 'list']);
    expect(text.stdout).toMatch(/admin\s+enabled/);
  });

  it('redirects a disabled service to the enabled one, and serves it again once enabled', async () => {
    const refused = await node.platform(['web', 'service', 'disable', 'admin']);
    expect(refused.status).toBe(1); // not confirmed without a terminal
    expect((await listed())[0]!.enabled).toBe(true);

    const disabled = await node.platform(['web', 'service', 'disable', 'admin', '--yes']);
    expect(disabled.status).toBe(0);
    expect(disabled.stdout).toContain('admin disabled: its URLs redirect to selfservice (/selfservice/)');
    expect(await listed()).toEqual([
      expect.objectContaining({ name: 'admin', enabled: false, redirectTo: '/selfservice/' }),
      expect.objectContaining({ name: 'selfservice', enabled: true }),
    ]);
    expect(await request('/admin/login')).toMatchObject({ status: 302, location: redirectUrl('/selfservice/') });
    expect(await request('/')).toMatchObject({ status: 302, location: redirectUrl('/selfservice/') });
    expect(await request('/selfservice/me')).toMatchObject({ status: 200, body: 'app:/selfservice/me' });
    // Plain HTTP still goes to HTTPS first.
    expect((await request('/admin/', HTTP)).status).toBe(301);

    const again = await node.platform(['web', 'service', 'disable', 'admin', '--yes']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('admin is already disabled');

    expect((await node.platform(['web', 'service', 'enable', 'admin'])).status).toBe(0);
    expect(await request('/admin/login')).toMatchObject({ status: 200, body: 'app:/admin/login' });

    expect((await node.platform(['web', 'service', 'disable', 'selfservice', '--yes'])).status).toBe(0);
    expect(await request('/selfservice/me')).toMatchObject({ status: 302, location: redirectUrl('/') });
    expect(await request('/admin/login')).toMatchObject({ status: 200 });
  });

  it('refuses to disable the last enabled service, changing nothing', async () => {
    const before = liveConfig();
    const last = await node.platform(['web', 'service', 'disable', 'admin', '--yes']);
    expect(last.status).toBe(2);
    expect(last.stderr).toContain('admin is the only enabled web service: enable selfservice first');
    expect(liveConfig()).toBe(before);
    expect((await listed()).map((s) => s.enabled)).toEqual([true, false]);
    expect(await request('/admin/login')).toMatchObject({ status: 200 });
  });

  it('keeps the state across a restart of the daemon', async () => {
    const home = node.home;
    await node.stop({ keepHome: true });
    node = await startDaemon({ home, args: ['--web-port', String(HTTPS), '--http-port', String(HTTP)] });
    expect((await listed()).map((s) => s.enabled)).toEqual([true, false]);
    expect(await request('/selfservice/me')).toMatchObject({ status: 302, location: redirectUrl('/') });
    expect(await request('/admin/login')).toMatchObject({ status: 200 });
  });

  it('keeps the setting and the live configuration when nginx refuses the new one', async () => {
    // A backend nginx cannot parse, put in the store behind the commands' back: the store's own check refuses it first (issue 21).
    const db = new Database(join(node.home, 'config.db'));
    db.prepare("INSERT INTO web_weights (server, weight) VALUES ('bad;host', 1)").run();
    const before = liveConfig();
    const refused = await node.platform(['web', 'service', 'enable', 'selfservice']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('web services unchanged: the config store is invalid: web_weights "bad;host": server: not host:port');
    expect((await listed()).map((s) => s.enabled)).toEqual([true, false]);
    expect(liveConfig()).toBe(before);
    expect(await request('/selfservice/me')).toMatchObject({ status: 302 });
    db.prepare("DELETE FROM web_weights WHERE server = 'bad;host'").run();
    db.close();
    expect((await node.platform(['web', 'service', 'enable', 'selfservice'])).status).toBe(0);
    expect(await request('/selfservice/me')).toMatchObject({ status: 200 });
  });

  it('completes the service names, checks them, and audits every change', async () => {
    expect((await complete(buildTree(groups), 'web service disable ')).candidates.sort()).toEqual(['admin', 'selfservice']);
    const bad = await node.platform(['web', 'service', 'disable', 'portal']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('"portal" is not one of selfservice, admin');
    const db = new Database(join(node.home, 'config.db'), { readonly: true });
    const rows = db.prepare("SELECT words, outcome, exit_status FROM audit WHERE words LIKE 'web service%' ORDER BY id").all();
    db.close();
    expect(rows).toContainEqual({ words: 'web service disable admin', outcome: 'ok', exit_status: 0 });
    expect(rows).toContainEqual({ words: 'web service disable admin', outcome: 'bad-input', exit_status: 2 });
    expect(rows).toContainEqual({ words: 'web service enable selfservice', outcome: 'failed', exit_status: 1 });
  });
});
