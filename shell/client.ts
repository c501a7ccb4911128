// The console's side of the local API: one connection per request,
// streaming progress and questions, ending with a result or an error.
// What the daemon sends is checked like any input: bounded lines, JSON
// parsed without throwing, every message against the protocol's schema.

import { connect, type Socket } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { LIMITS, describeProblem, lineSplitter, parseJson, responseSchema, type CallerClaim, type Request, type Response, type SessionKind } from '../core/protocol.js';

export class DaemonUnreachable extends Error {
  constructor(readonly socketPath: string, cause: string) {
    super(`platformd is not running (${cause} at ${socketPath})`);
  }
}

/** The socket exists but this account may not use it (EACCES). */
export class DaemonForbidden extends Error {
  readonly hint: string;
  constructor(readonly socketPath: string) {
    super(`permission denied on ${socketPath}`);
    const group = groupOf(socketPath);
    this.hint = group
      ? `only members of the group "${group}" may use the console; ask an administrator to add your account to it (then log in again)`
      : 'your account may not use the console on this node; ask an administrator';
  }
}

function groupOf(path: string): string | undefined {
  try {
    const gid = statSync(path).gid;
    return readFileSync('/etc/group', 'utf8').split('\n').find((line) => line.split(':')[2] === String(gid))?.split(':')[0];
  } catch {
    return undefined;
  }
}

function connectionError(socketPath: string, error: NodeJS.ErrnoException): Error {
  if (error.code === 'EACCES' || error.code === 'EPERM') return new DaemonForbidden(socketPath);
  if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') return new DaemonUnreachable(socketPath, error.code === 'ENOENT' ? 'no socket' : error.code);
  return error;
}

export interface Handlers {
  progress?(text: string): void;
  confirm?(question: string): Promise<boolean>;
  ask?(question: string, initial: string | undefined, secret: boolean): Promise<string>;
}

type Final = Exclude<Response, { type: 'progress' } | { type: 'confirm' } | { type: 'ask' }>;

/** Reads the daemon's messages from a socket: each is checked, a bad one ends the exchange with `onBad`. */
function readMessages(socket: Socket, onMessage: (response: Response) => void, onBad: (error: Error) => void): void {
  socket.on(
    'data',
    lineSplitter(
      LIMITS.answerBytes + 1024,
      (line) => {
        const json = parseJson(line);
        if (!json.ok) return onBad(new Error('platformd sent something that is not JSON'));
        const checked = responseSchema.safeParse(json.value);
        if (!checked.success) return onBad(new Error(`platformd sent a malformed answer (${describeProblem(checked.error)})`));
        onMessage(checked.data as Response);
      },
      () => onBad(new Error('platformd sent an answer larger than the protocol allows')),
    ),
  );
}

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
    socket.on('error', (error: NodeJS.ErrnoException) => finish(connectionError(socketPath, error)));
    socket.on('close', () => finish(new Error('platformd closed the connection without an answer')));
    const answer = (value: string | boolean) => {
      if (!socket.destroyed) socket.write(JSON.stringify({ op: 'answer', value } satisfies Request) + '\n');
    };
    const ask = async (response: Extract<Response, { type: 'confirm' } | { type: 'ask' }>) => {
      try {
        if (response.type === 'confirm') answer(handlers.confirm ? await handlers.confirm(response.question) : false);
        else answer(handlers.ask ? await handlers.ask(response.question, response.initial, response.secret ?? false) : '');
      } catch (error) {
        finish(error as Error);
      }
    };
    readMessages(
      socket,
      (response) => {
        switch (response.type) {
          case 'progress':
            handlers.progress?.(response.text);
            return;
          case 'confirm':
          case 'ask':
            void ask(response);
            return;
          default:
            finish(response);
        }
      },
      finish,
    );
  });
}

/**
 * Registers an SSH session with the daemon for as long as this process
 * lives. Resolves when admitted; rejects with the daemon's refusal.
 */
export function holdSession(socketPath: string, kind: SessionKind, caller: CallerClaim): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.on('connect', () => socket.write(JSON.stringify({ op: 'session', kind, caller } satisfies Request) + '\n'));
    socket.on('error', (error: NodeJS.ErrnoException) => reject(connectionError(socketPath, error)));
    socket.on('close', () => reject(new Error('platformd closed the connection without an answer')));
    readMessages(
      socket,
      (response) => {
        if (response.type === 'session') {
          socket.unref(); // held until the process ends, without keeping it alive
          resolve();
        } else if (response.type === 'error') {
          socket.destroy();
          reject(new Error(response.message));
        }
      },
      (error) => {
        socket.destroy();
        reject(error);
      },
    );
  });
}
