// The console's side of the local API: one connection per request,
// streaming progress and questions, ending with a result or an error.

import { connect } from 'node:net';
import { lineReader, type CallerInfo, type Request, type Response, type SessionKind } from '../daemon/protocol.js';

export class DaemonUnreachable extends Error {
  constructor(readonly socketPath: string, cause: string) {
    super(`platformd is not running (${cause} at ${socketPath})`);
  }
}

export interface Handlers {
  progress?(text: string): void;
  confirm?(question: string): Promise<boolean>;
  ask?(question: string, initial: string | undefined, secret: boolean): Promise<string>;
}

type Final = Exclude<Response, { type: 'progress' } | { type: 'confirm' } | { type: 'ask' }>;

export function request(socketPath: string, req: Request, handlers: Handlers = {}, signal?: AbortSignal): Promise<Final> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let settled = false;
    const finish = (value: Final | Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      value instanceof Error ? reject(value) : resolve(value);
    };
    signal?.addEventListener('abort', () => finish(new Error('cancelled')), { once: true });
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const unreachable = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'EACCES';
      finish(unreachable ? new DaemonUnreachable(socketPath, error.code === 'ENOENT' ? 'no socket' : error.code!) : error);
    });
    socket.on('close', () => finish(new Error('platformd closed the connection without an answer')));
    const answer = (value: string | boolean) => socket.write(JSON.stringify({ op: 'answer', value }) + '\n');
    socket.on(
      'data',
      lineReader(async (message) => {
        const response = message as Response;
        switch (response.type) {
          case 'progress':
            handlers.progress?.(response.text);
            return;
          case 'confirm':
            answer(handlers.confirm ? await handlers.confirm(response.question) : false);
            return;
          case 'ask':
            answer(handlers.ask ? await handlers.ask(response.question, response.initial, response.secret ?? false) : '');
            return;
          default:
            finish(response);
        }
      }),
    );
  });
}

/**
 * Registers an SSH session with the daemon for as long as this process
 * lives. Resolves when admitted; rejects with the daemon's refusal.
 */
export function holdSession(socketPath: string, kind: SessionKind, caller: CallerInfo): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.on('connect', () => socket.write(JSON.stringify({ op: 'session', kind, caller } satisfies Request) + '\n'));
    socket.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? new DaemonUnreachable(socketPath, error.code) : error));
    socket.on(
      'data',
      lineReader((message) => {
        const response = message as Response;
        if (response.type === 'session') {
          socket.unref(); // held until the process ends, without keeping it alive
          resolve();
        } else if (response.type === 'error') {
          socket.destroy();
          reject(new Error(response.message));
        }
      }),
    );
  });
}
