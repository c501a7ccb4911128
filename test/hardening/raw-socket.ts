// Talking to platformd's socket byte by byte, as an attacker would: no
// console in between. Used by the hardening tests and the benchmark's twin.

import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Exchange {
  /** Every line the daemon sent, parsed (or the raw text when it was not JSON). */
  messages: unknown[];
  /** The daemon closed the connection (rather than the test giving up waiting). */
  closedByDaemon: boolean;
}

export const socketOf = (home: string) => join(home, 'run', 'platformd.sock');

/** A caller that proves itself: the administrator's token, which the test (root) can read. */
export function provenCaller(home: string, user = 'platform') {
  return { user, token: readFileSync(join(home, 'run', 'users', user), 'utf8'), interactive: false, assumeYes: true };
}

/**
 * Sends `chunks` in order (pausing `gapMs` between them), then collects what
 * the daemon sends until it closes the connection or `waitMs` passes.
 */
export function exchange(home: string, chunks: (string | Buffer)[], options: { gapMs?: number; waitMs?: number } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketOf(home));
    let text = '';
    let done = false;
    const end = (closedByDaemon: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const messages = text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          try {
            return JSON.parse(line);
          } catch {
            return line;
          }
        });
      resolve({ messages, closedByDaemon });
    };
    const timer = setTimeout(() => end(false), options.waitMs ?? 5000);
    socket.on('data', (d) => (text += d.toString('utf8')));
    socket.on('end', () => end(true));
    socket.on('close', () => end(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The daemon may close while we still write: that is an answer too.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return end(true);
      if (!done) reject(error);
    });
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (done || socket.destroyed) return;
        socket.write(chunk);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
    });
  });
}

/** One request line; resolves with the daemon's last message. */
export async function ask(home: string, request: unknown, options: { waitMs?: number } = {}): Promise<Record<string, unknown>> {
  const { messages } = await exchange(home, [JSON.stringify(request) + '\n'], options);
  return (messages.at(-1) ?? {}) as Record<string, unknown>;
}

/** `system info` as the proven administrator: how long it took and what came back. */
export async function systemInfo(home: string): Promise<{ ms: number; answer: Record<string, unknown> }> {
  const start = performance.now();
  const answer = await ask(home, { op: 'run', words: ['system', 'info'], caller: provenCaller(home) }, { waitMs: 3000 });
  return { ms: performance.now() - start, answer };
}

/** Opens a connection and leaves it be: it never reads and never closes until `socket.destroy()`. */
export function openIdle(home: string, send?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketOf(home));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.pause(); // never read: the daemon's answer stays in the buffers
      if (send) socket.write(send);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
