// app start/stop through the built-in supervisor of the embedded default:
// the firewall follows the app's ports without anybody asking.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;
// The database's catalog port: nothing else on a test machine listens there.
const DB_PORT = 27019;
// The web front end moved off the catalog's 443 and 80, as in the embedded default.
const WEB_PORT = freePort();
const HTTP_PORT = freePort();

beforeAll(async () => {
  const home = tempHome();
  mkdirSync(join(home, 'etc'), { recursive: true });
  const listener = `require('node:net').createServer().listen(${DB_PORT})`;
  writeFileSync(join(home, 'etc', 'apps.json'), JSON.stringify([{ name: 'db', service: 'database', command: [process.execPath, '-e', listener] }, { name: 'ghost', service: 'snmp' }]));
  node = await startDaemon({ home, args: ['--web-port', String(WEB_PORT), '--http-port', String(HTTP_PORT)] });
  await node.platform(['system', 'setup', '--hostname', 'app01', '--role', 'unified,webproxy']);
});
afterAll(async () => {
  await node?.stop({ keepHome: false });
});

async function databaseState(): Promise<string> {
  const rules = JSON.parse((await node.platform(['--json', 'firewall', 'rules'])).stdout) as { port: string; state: string }[];
  return rules.find((r) => r.port === String(DB_PORT))!.state;
}

async function waitFor(state: string, withinMs: number) {
  const start = Date.now();
  while ((await databaseState()) !== state) {
    if (Date.now() - start > withinMs) throw new Error(`${DB_PORT} not ${state} after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('apps and the firewall', () => {
  it('opens the ports of a started app and closes them when it stops', async () => {
    expect(await databaseState()).toBe('closed');
    const start = await node.platform(['app', 'start', 'db']);
    expect(start.status).toBe(0);
    await waitFor('open', 1500);
    expect((await node.platform(['app', 'status'])).stdout).toMatch(/database \(27017\/tcp, 27019\/tcp, 27020\/tcp, 27030\/tcp\)\n {3}\|-db {20}running/);
    expect((await node.platform(['app', 'stop', 'db'])).status).toBe(1); // disruptive: needs --yes
    expect((await node.platform(['app', 'stop', 'db', '--yes'])).status).toBe(0);
    await waitFor('closed', 1500);
    expect((await node.platform(['app', 'status'])).stdout).toMatch(/\|-db {20}stopped/);
  });

  it('says clearly what cannot be started or stopped', async () => {
    const unknown = await node.platform(['app', 'start', 'nosuch']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no app "nosuch" on this node');
    const ghost = await node.platform(['app', 'start', 'ghost']);
    expect(ghost.status).toBe(1);
    expect(ghost.stderr).toContain('ghost is not installed on this node');
    expect((await node.platform(['app', 'stop', 'db', '--yes'])).stderr).toContain('db is not running');
  });

  it('lists the ports as this node serves them, and what runs each', async () => {
    const apps = JSON.parse((await node.platform(['--json', 'app', 'list'])).stdout) as { app: string; ports: string; state: string }[];
    expect(apps.find((a) => a.app === 'https')).toMatchObject({ ports: `${WEB_PORT}/tcp`, state: 'running' });
    expect(apps.find((a) => a.app === 'http')).toMatchObject({ ports: `${HTTP_PORT}/tcp`, state: 'running' });
    // Nothing listens on 22 in a test daemon's view unless the host's sshd does: app status says what the sockets say.
    const drift = JSON.parse((await node.platform(['--json', 'firewall', 'drift'])).stdout) as { allowedButNothingListening: string[] };
    const sshIdle = drift.allowedButNothingListening.some((p) => p.startsWith('22/tcp'));
    expect((await node.platform(['app', 'status'])).stdout).toMatch(sshIdle ? /ssh \(22\/tcp\)\n {3}\|-sshd +stopped/ : /\|-sshd +running/);
  });

  it('shows the application line of the banner from what runs', async () => {
    expect((await node.platform(['health'])).stdout).toMatch(/APPLICATION: .*DATABASE.* DOWN/);
  });
});
