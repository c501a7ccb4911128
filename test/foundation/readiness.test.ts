// platformd tells systemd when it is ready (Type=notify). A unix datagram
// socket bound by socat stands in for systemd's notify socket.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';

const running: (RunningDaemon | ChildProcess)[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if ('stop' in r) await r.stop();
    else r.kill();
  }
});

/** Resolves when the socket accepts a connection, rejects when nothing listens. */
const connects = (socket: string) =>
  new Promise<void>((resolve, reject) => {
    const c = connect(socket, () => {
      c.destroy();
      resolve();
    });
    c.on('error', reject);
  });

describe('readiness', () => {
  it('sends READY=1 to NOTIFY_SOCKET once the API serves and the firewall is reconciled', async () => {
    const dir = tempHome('ps-notify-');
    const notifySocket = join(dir, 'notify.sock');
    const receiver = spawn('socat', ['-u', `UNIX-RECV:${notifySocket}`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'inherit'] });
    running.push(receiver);
    while (!existsSync(notifySocket)) await new Promise((r) => setTimeout(r, 20));

    const home = tempHome();
    let messages = '';
    let daemonOutputAtReady: string | undefined;
    let apiAtReady: Promise<void> | undefined;
    let node: RunningDaemon | undefined;
    const ready = new Promise<void>((resolve) => {
      receiver.stdout!.on('data', (data) => {
        messages += data;
        if (messages.includes('READY=1') && apiAtReady === undefined) {
          // Probe the API the moment READY arrives.
          apiAtReady = connects(join(home, 'run', 'platformd.sock'));
          daemonOutputAtReady = node?.output();
          resolve();
        }
      });
    });
    node = await startDaemon({ home, env: withoutCI({ NOTIFY_SOCKET: notifySocket }) });
    running.push(node);
    await ready;

    await expect(apiAtReady).resolves.toBeUndefined();
    // The daemon had logged serving and the firewall's start before READY.
    expect(daemonOutputAtReady ?? node.output()).toMatch(/firewall (applied|not applied)[\s\S]*serving/);
    expect(messages).toMatch(/STATUS=serving; firewall (applied|not applied: .+)/);
    // The API answers a command (the firewall has a reconciled state).
    const status = await node.platform(['--json', 'firewall', 'status']);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout).lastChange).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('sends nothing without NOTIFY_SOCKET and starts as before', async () => {
    const env = withoutCI();
    delete env.NOTIFY_SOCKET;
    const node = await startDaemon({ env });
    running.push(node);
    const info = await node.platform(['--json', 'system', 'info']);
    expect(info.status).toBe(0);
    expect(node.output()).not.toContain('could not tell systemd');
  });
});
