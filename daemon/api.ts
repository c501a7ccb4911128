// The local API server: a unix socket under run/, one request per
// connection, newline-delimited JSON both ways (see protocol.ts).

import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, chownSync, readFileSync, rmSync } from 'node:fs';
import { consoleGroupName } from '../ssh/accounts.js';
import { handle } from './execute.js';
import { lineReader, type Request, type Response } from './protocol.js';
import type { Runtime } from './runtime.js';

export function serveLocalApi(runtime: Runtime): Promise<Server> {
  const server = createServer((socket) => serveConnection(runtime, socket));
  rmSync(runtime.paths.socket, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(runtime.paths.socket, () => {
      // Group access lets the platform users' consoles connect; others cannot.
      chmodSync(runtime.paths.socket, 0o660);
      const gid = consoleGroup();
      if (gid !== undefined) chownSync(runtime.paths.socket, process.getuid?.() ?? 0, gid);
      resolve(server);
    });
  });
}

function serveConnection(runtime: Runtime, socket: Socket): void {
  const abort = new AbortController();
  const answers: ((value: string | boolean) => void)[] = [];
  let started = false;
  const send = (response: Response) => {
    if (!socket.destroyed) socket.write(JSON.stringify(response) + '\n');
  };
  socket.on('close', () => abort.abort());
  socket.on('error', () => abort.abort());
  socket.on(
    'data',
    lineReader((message) => {
      const request = message as Request;
      if (request.op === 'answer') {
        answers.shift()?.(request.value);
        return;
      }
      if (started) return;
      started = true;
      const channel = {
        send,
        signal: abort.signal,
        answer: () => new Promise<string | boolean>((resolve) => answers.push(resolve)),
      };
      handle(runtime, request, channel)
        .catch((error) => send({ type: 'error', code: 'internal', message: String(error?.message ?? error), hints: [], exitStatus: 1 }))
        .finally(() => socket.end());
    }),
  );
}

/** The gid of the console users' group (ssh/accounts.ts names it). */
export function consoleGroup(): number | undefined {
  const name = consoleGroupName();
  try {
    const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}
