// The local API server: a unix socket under run/, one request per
// connection, newline-delimited JSON both ways (see protocol.ts).
//
// Any member of the socket's group can connect, so everything here is
// bounded: the size of a line, the lines per connection, the connections at
// once, the size of an answer, the bytes waiting for clients that do not
// read, and the time to send a request, to answer a question and to read the
// answer. A line that breaks a rule is answered with an error and the
// connection closed; nothing a client sends can end the daemon.

import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, chownSync, readFileSync, rmSync } from 'node:fs';
import { PlatformError } from '../core/errors.js';
import { consoleGroupName } from '../ssh/accounts.js';
import { escapeControls } from '../core/escape.js';
import { handle, redactUnparsed } from './execute.js';
import { LIMITS, describeProblem, errorResponse, lineSplitter, parseJson, requestSchema, type Request, type Response } from '../core/protocol.js';
import type { Runtime } from '../core/runtime.js';
import { stopping } from './stopping.js';

/** The connections open now (their unsent bytes count against LIMITS.pendingBytes together). */
const open = new Set<Socket>();

/** Requests being handled now (each its own entry), for the last-resort handler in main.ts to name. */
export const requestsInFlight = new Set<{ name: string }>();

export function serveLocalApi(runtime: Runtime): Promise<Server> {
  const server = createServer((socket) => {
    try {
      serveConnection(runtime, socket);
    } catch (error) {
      runtime.log('error', `local API connection: ${(error as Error).stack ?? error}`);
      socket.destroy();
    }
  });
  rmSync(runtime.paths.socket, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(runtime.paths.socket, () => {
      server.off('error', reject);
      server.on('error', (error) => runtime.log('error', `local API: ${error.message}`));
      // Group access lets the platform users' consoles connect; others cannot.
      chmodSync(runtime.paths.socket, 0o660);
      const gid = consoleGroup();
      if (gid !== undefined) chownSync(runtime.paths.socket, process.getuid?.() ?? 0, gid);
      resolve(server);
    });
  });
}

const pendingBytes = () => {
  let total = 0;
  for (const socket of open) total += socket.writableLength;
  return total;
};

/** How a request is named in the daemon's log: its operation and redacted, escaped words. */
function describe(request: Request): string {
  const words = request.op === 'run' ? redactUnparsed(request.words) : request.op === 'audit' ? redactUnparsed([request.words]) : 'line' in request ? redactUnparsed([request.line]) : '';
  return escapeControls(`${request.op} ${words}`.trim()).slice(0, 300);
}

function serveConnection(runtime: Runtime, socket: Socket): void {
  if (open.size >= LIMITS.connections) {
    socket.on('error', () => undefined); // the refused client may be gone already
    socket.end(JSON.stringify(errorResponse('busy', `platformd is serving ${open.size} connections, its limit; try again`, 1)) + '\n');
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  open.add(socket);
  const abort = new AbortController();
  /** Questions sent and not yet answered, oldest first. */
  const waiting: ((value: string | boolean) => void)[] = [];
  let started = false;
  let finished = false;
  let messages = 0;

  // One deadline at a time: for the request, for an answer, for the client to read the end.
  let deadline: NodeJS.Timeout | undefined;
  const expireIn = (ms: number | undefined) => {
    clearTimeout(deadline);
    deadline = ms === undefined ? undefined : setTimeout(() => socket.destroy(), ms);
  };
  expireIn(LIMITS.requestWaitMs);

  const send = (response: Response) => {
    if (socket.destroyed || finished) return;
    // A client that is behind misses progress lines, never its answer.
    if (response.type === 'progress' && socket.writableNeedDrain) return;
    let line = JSON.stringify(response) + '\n';
    if (Buffer.byteLength(line) > LIMITS.answerBytes) {
      line = JSON.stringify(errorResponse('answer-too-large', `the answer is larger than ${LIMITS.answerBytes / 1024 / 1024} MiB; ask for less (e.g. --limit)`, 1)) + '\n';
    }
    if (pendingBytes() + Buffer.byteLength(line) > LIMITS.pendingBytes) {
      runtime.log('warn', 'local API: dropped a client that does not read its answers');
      return void socket.destroy();
    }
    // Backpressure: while the client has not read what is queued, read nothing more from it.
    if (!socket.write(line)) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
    if (response.type === 'confirm' || response.type === 'ask') expireIn(LIMITS.answerWaitMs);
  };
  /** The last message of this connection, then close; a client that never reads is dropped. */
  const finish = (response?: Response) => {
    if (socket.destroyed) return;
    if (response) send(response);
    finished = true;
    expireIn(LIMITS.drainMs);
    socket.end();
  };
  /** A request that breaks a rule: its error, then the connection goes, without reading what else it sends. */
  const refuse = (message: string) => {
    if (socket.destroyed || finished) return;
    send(errorResponse('bad-request', message, 2));
    finished = true;
    // Stop reading and half-close, but keep the socket until the client goes
    // (or the drain time ends): a client still writing would otherwise get
    // EPIPE before it has read its error.
    socket.pause();
    socket.end();
    expireIn(LIMITS.drainMs);
  };

  socket.on('close', () => {
    open.delete(socket);
    clearTimeout(deadline);
    abort.abort();
  });
  socket.on('error', () => abort.abort());

  const onLine = (line: string) => {
    if (finished) return;
    if (++messages > LIMITS.messagesPerConnection) return refuse(`more than ${LIMITS.messagesPerConnection} messages on one connection`);
    const json = parseJson(line);
    if (!json.ok) return refuse('the request is not JSON');
    const checked = requestSchema.safeParse(json.value);
    if (!checked.success) return refuse(`malformed request: ${describeProblem(checked.error)}`);
    const request = checked.data;
    if (request.op === 'answer') {
      const answer = waiting.shift();
      if (!answer) return refuse('an answer, but no question was asked');
      if (waiting.length === 0) expireIn(undefined);
      return answer(request.value);
    }
    if (started) return refuse('one request per connection');
    started = true;
    expireIn(undefined);
    const channel = {
      send,
      // Cancelled when the client goes, or when platformd stops.
      signal: AbortSignal.any([abort.signal, stopping.signal]),
      answer: () => new Promise<string | boolean>((resolve) => waiting.push(resolve)),
    };
    const name = describe(request);
    const inFlight = { name };
    requestsInFlight.add(inFlight);
    handle(runtime, request, channel)
      .then(
        () => finish(),
        (error) => {
          if (error instanceof PlatformError) return finish({ ...errorResponse(error.code, error.message, error.exitStatus), hints: error.hints });
          runtime.log('error', `request "${name}" failed: ${(error as Error)?.stack ?? error}`);
          finish(errorResponse('internal', `platformd failed on this request: ${(error as Error)?.message ?? error}`, 1));
        },
      )
      .finally(() => requestsInFlight.delete(inFlight));
  };

  socket.on(
    'data',
    lineSplitter(
      LIMITS.lineBytes,
      (line) => {
        try {
          onLine(line);
        } catch (error) {
          runtime.log('error', `local API line "${escapeControls(line.slice(0, 200))}": ${(error as Error).stack ?? error}`);
          refuse('the request could not be read');
        }
      },
      () => refuse(`a line longer than ${LIMITS.lineBytes / 1024} KiB`),
    ),
  );
}

/**
 * When platformd stops (after `stopping` is aborted, so every request has
 * been told): waits up to `graceMs` for the requests to end and their
 * connections to close, then cuts the connections left. Resolves with the
 * requests still running then (named as the log names them).
 */
export async function closeConnections(graceMs: number): Promise<string[]> {
  const deadline = Date.now() + graceMs;
  while ((open.size > 0 || requestsInFlight.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  for (const socket of open) socket.destroy();
  return [...requestsInFlight].map((r) => r.name);
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
