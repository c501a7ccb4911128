// app start/stop through the built-in supervisor of the embedded default:
// the firewall follows the app's ports without anybody asking.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;
const WEB_PORT = 20000 + (process.pid % 20000);

beforeAll(async () => {
  const home = tempHome();
  mkdirSync(join(home, 'etc'), { recursive: true });
  const listener = `require('node:net').createServer().listen(${WEB_PORT})`;
  writeFileSync(join(home, 'etc', 'apps.json'), JSON.stringify([{ name: 'web', service: 'https', command: [process.execPath, '-e', listener] }, { name: 'ghost', service: 'database' }]));
  node = await startDaemon({ home, args: ['--web-port', String(WEB_PORT), '--http-port', String(WEB_PORT + 1)] });
  await node.platform(['system', 'setup', '--hostname', 'app01', '--role', 'unified,webproxy']);
});
afterAll(async () => {
  await node?.stop({ keepHome: false });
});

async function httpsState(): Promise<string> {
  const rules = JSON.parse((await node.platform(['--json', 'firewall', 'rules'])).stdout) as { port: string; state: string }[];
  return rules.find((r) => r.port === String(WEB_PORT))!.state;
}

async function waitFor(state: string, withinMs: number) {
  const start = Date.now();
  while ((await httpsState()) !== state) {
    if (Date.now() - start > withinMs) throw new Error(`https not ${state} after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('apps and the firewall', () => {
  it('opens the ports of a started app and closes them when it stops', async () => {
    expect(await httpsState()).toBe('closed');
    const start = await node.platform(['app', 'start', 'web']);
    expect(start.status).toBe(0);
    await waitFor('open', 1500);
    expect((await node.platform(['app', 'status'])).stdout).toMatch(/https \(443\/tcp\)\n {3}\|-web {19}running/);
    expect((await node.platform(['app', 'stop', 'web'])).status).toBe(1); // disruptive: needs --yes
    expect((await node.platform(['app', 'stop', 'web', '--yes'])).status).toBe(0);
    await waitFor('closed', 1500);
    expect((await node.platform(['app', 'status'])).stdout).toMatch(/\|-web {19}stopped/);
  });

  it('says clearly what cannot be started or stopped', async () => {
    const unknown = await node.platform(['app', 'start', 'nosuch']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no app "nosuch" on this node');
    const ghost = await node.platform(['app', 'start', 'ghost']);
    expect(ghost.status).toBe(1);
    expect(ghost.stderr).toContain('ghost is not installed on this node');
    expect((await node.platform(['app', 'stop', 'web', '--yes'])).stderr).toContain('web is not running');
  });

  it('shows the application line of the banner from what runs', async () => {
    expect((await node.platform(['health'])).stdout).toMatch(/APPLICATION: .*HTTPS.* DOWN/);
  });
});
