// Tells systemd that platformd is ready (Type=notify): READY=1 once the local
// API serves and the firewall holds the ruleset of what now listens, so that
// units ordered after platformd (first boot) wait on readiness, not on sleeps.
// Node has no unix datagram sockets, so systemd's own `systemd-notify` sends
// the message, spawned asynchronously (never blocking the event loop) with a
// timeout. Without NOTIFY_SOCKET (not started by systemd) nothing is sent.

import { execFile } from 'node:child_process';

const NOTIFY_TIMEOUT_MS = 10_000;

export function notifyReady(status: string, log: (level: 'info' | 'warn', message: string) => void): Promise<void> {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return Promise.resolve();
  return new Promise((resolve) => {
    // systemd-notify waits until systemd has read the message (a barrier), so
    // the sender is still alive when systemd checks it belongs to the unit
    // (the unit sets NotifyAccess=all).
    execFile('systemd-notify', ['--ready', `--status=${status}`], { timeout: NOTIFY_TIMEOUT_MS, env: { ...process.env, NOTIFY_SOCKET: socket } }, (error) => {
      if (error) log('warn', `could not tell systemd it is ready: ${error.message}`);
      resolve();
    });
  });
}
