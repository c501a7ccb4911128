// Connections are bounded per peer, by the uid the kernel gives for it
// (SO_PEERCRED, native/peercred): a member of the socket's group holding
// 300 idle connections that reconnect as soon as they are dropped keeps
// at most its share, and root is served throughout. (Before: "serving 256
// connections" to everyone, administrators included.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { socketOf, systemInfo } from './raw-socket.js';
import { CONNECTION_BOUNDS } from '../../daemon/api.js';

const SOCKET_GROUP = 'nogroup';
let node: RunningDaemon;

beforeAll(async () => {
  const home = tempHome('ps-preauth-conn-');
  chmodSync(home, 0o755); // nobody must reach run/platformd.sock
  node = await startDaemon({ home, env: withoutCI({ PLATFORM_CONSOLE_GROUP: SOCKET_GROUP }) });
});
afterAll(async () => {
  await node.stop();
});

/**
 * Opens `count` connections and sends nothing; each one the daemon closes is
 * opened again at once, for `ms`. Prints how many the daemon holds a second
 * before the end (open for more than 2.5 s, nothing received: a refused one
 * gets its "busy" after a second), and one "busy" message it got.
 */
const HOARDER = `
const [path, count, ms] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const end = Date.now() + ms;
const open = new Set();
let busy = 0, message = '';
function one() {
  if (Date.now() > end) return;
  const s = require('node:net').connect(path);
  let text = '';
  s.on('connect', () => { s.openedAt = Date.now(); open.add(s); });
  s.on('data', (d) => { text += d; open.delete(s); });
  s.on('error', () => undefined);
  s.on('close', () => {
    open.delete(s);
    if (text.includes('"busy"')) { busy++; message = text; }
    setTimeout(one, 5);
  });
}
for (let i = 0; i < count; i++) one();
setTimeout(() => {
  const held = [...open].filter((s) => Date.now() - s.openedAt > 2500).length;
  process.stdout.write(JSON.stringify({ held, busy, message }));
  process.exit(0);
}, ms - 1000);
`;

function hoardAsNobody(count: number, ms: number): Promise<{ held: number; busy: number; message: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'setpriv',
      ['--reuid=nobody', `--regid=${SOCKET_GROUP}`, '--clear-groups', '--', process.execPath, '-e', HOARDER, socketOf(node.home), String(count), String(ms)],
      { env: withoutCI({ HOME: '/nonexistent' }), cwd: '/', timeout: ms + 20_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(JSON.parse(stdout))),
    );
  });
}

describe('300 idle connections of one group member', () => {
  it('hold at most the per-uid share while root is served throughout', async () => {
    const hoarding = hoardAsNobody(300, 7000);
    await new Promise((r) => setTimeout(r, 1500));
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push((await systemInfo(node.home)).answer);
    const hoarded = await hoarding;
    for (const answer of answers) expect(answer).toMatchObject({ type: 'result', exitStatus: 0 });
    expect(hoarded.held).toBeGreaterThan(0);
    expect(hoarded.held).toBeLessThanOrEqual(CONNECTION_BOUNDS.perUid);
    expect(hoarded.busy).toBeGreaterThan(0);
    expect(JSON.parse(hoarded.message)).toMatchObject({ type: 'error', code: 'busy', message: expect.stringContaining('uid 65534') });
  }, 60_000);

  it('the daemon said nothing about a missing peer-credentials addon', () => {
    expect(node.output()).not.toContain('peer-credentials addon could not be loaded');
  });
});
