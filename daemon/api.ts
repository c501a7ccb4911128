// The local API server: a unix socket under run/, one request per
// connection, newline-delimited JSON both ways (see protocol.ts).
//
// Any member of the socket's group can connect, so everything here is
// bounded: the size of a line, the lines per connection, the connections at
// once (per uid too, as the kernel tells it: os/peercred.ts, with slots kept
// for root and the administrators' accounts), the size of an answer, the
// bytes waiting for clients that do not read, and the time to send a
// request, to answer a question and to read the answer. A line that breaks a rule is answered with an error and the
// connection closed; nothing a client sends can end the daemon.

import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, chownSync, readFileSync, rmSync } from 'node:fs';
import { PlatformError } from '../core/errors.js';
import { consoleGroupName } from '../ssh/accounts.js';
import { escapeControls } from '../core/escape.js';
import { handle, redactUnparsed } from './execute.js';
import { peerCredentials, peerCredentialsSupport } from '../os/peercred.js';
import { ADMINISTRATORS } from '../users/rights.js';
import { LIMITS, describeProblem, errorResponse, lineSplitter, parseJson, requestSchema, type Request, type Response } from '../core/protocol.js';
import type { Runtime } from '../core/runtime.js';
import { stopping } from './stopping.js';

/** The connections open now (their unsent bytes count against LIMITS.pendingBytes together). */
const open = new Set<Socket>();

/**
 * Who may hold how many connections, by the uid the kernel gives for the
 * peer: a group member that opens hundreds of idle connections keeps
 * neither root nor an administrator out.
 */
export const CONNECTION_BOUNDS = {
  /** All connections together. */
  total: LIMITS.connections,
  /** Slots only root and the administrators' accounts (users/rights.ts) may take. */
  keptForAdministrators: 32,
  /** What one other uid may hold at once (each console holds one for its whole life). */
  perUid: 16,
  /**
   * A user's connection past its bounds is refused after this delay, read
   * from by nobody meanwhile: a client that reconnects at once would
   * otherwise spin, and take the processor from everyone else.
   */
  refusalDelayMs: 1000,
  /** Refused connections waiting out their delay, per uid and in all; past these they are closed at once. */
  delayedPerUid: 256,
  delayed: 1024,
} as const;

/** Open connections by peer uid, and those of uids that are neither root nor an administrator, together. */
const openByUid = new Map<number, number>();
let openOrdinary = 0;
/** The uids of root and the administrators' accounts, read from /etc/passwd when the API starts. */
let administratorUids: ReadonlySet<number> = new Set([0]);

/** Refused connections waiting out their delay, by uid. */
const delayedByUid = new Map<number, number>();
let delayed = 0;

/** Why a new connection from `uid` is refused now, or undefined to serve it. */
function refusalFor(uid: number | undefined): string | undefined {
  if (open.size >= CONNECTION_BOUNDS.total) return `platformd is serving ${open.size} connections, its limit; try again`;
  if (uid === undefined || administratorUids.has(uid)) return undefined;
  if ((openByUid.get(uid) ?? 0) >= CONNECTION_BOUNDS.perUid) return `platformd is serving ${CONNECTION_BOUNDS.perUid} connections of uid ${uid}, the most one user may hold; close some and try again`;
  if (openOrdinary >= CONNECTION_BOUNDS.total - CONNECTION_BOUNDS.keptForAdministrators) return `platformd is serving ${openOrdinary} connections of users, their limit (the rest are kept for administrators); try again`;
  return undefined;
}

/** Counts a connection of `uid` in (+1) or out (-1). */
function countConnection(uid: number | undefined, change: 1 | -1): void {
  if (uid === undefined) return;
  const held = (openByUid.get(uid) ?? 0) + change;
  if (held > 0) openByUid.set(uid, held);
  else openByUid.delete(uid);
  if (!administratorUids.has(uid)) openOrdinary += change;
}

/** Requests being handled now (each its own entry), for the last-resort handler in main.ts to name. */
export const requestsInFlight = new Set<{ name: string }>();

export function serveLocalApi(runtime: Runtime): Promise<Server> {
  const support = peerCredentialsSupport();
  if (!support.available) runtime.log('warn', `local API: ${support.problem}`);
  administratorUids = new Set([0, ...uidsOf(ADMINISTRATORS)]);
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

/** Answers "busy" and closes: at once for an administrator or when too many wait, after a delay for a user. */
function refuseConnection(socket: Socket, message: string, uid: number | undefined): void {
  socket.on('error', () => undefined); // the refused client may be gone already
  const busy = () => socket.end(JSON.stringify(errorResponse('busy', message, 1)) + '\n', () => socket.destroy());
  const waiting = uid === undefined ? 0 : (delayedByUid.get(uid) ?? 0);
  if (uid === undefined || administratorUids.has(uid) || waiting >= CONNECTION_BOUNDS.delayedPerUid || delayed >= CONNECTION_BOUNDS.delayed) {
    busy();
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  socket.pause();
  delayedByUid.set(uid, waiting + 1);
  delayed += 1;
  const timer = setTimeout(busy, CONNECTION_BOUNDS.refusalDelayMs);
  const deadline = setTimeout(() => socket.destroy(), CONNECTION_BOUNDS.refusalDelayMs + 1000);
  socket.once('close', () => {
    clearTimeout(timer);
    clearTimeout(deadline);
    delayed -= 1;
    const left = (delayedByUid.get(uid) ?? 1) - 1;
    if (left > 0) delayedByUid.set(uid, left);
    else delayedByUid.delete(uid);
  });
}

function serveConnection(runtime: Runtime, socket: Socket): void {
  const peerUid = peerCredentials(socket)?.uid;
  const refusal = refusalFor(peerUid);
  if (refusal) return refuseConnection(socket, refusal, peerUid);
  open.add(socket);
  countConnection(peerUid, 1);
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
    if (open.delete(socket)) countConnection(peerUid, -1);
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
      peerUid,
      send,
      // Cancelled when the client goes, or when platformd stops.
      signal: AbortSignal.any([abort.signal, stopping.signal]),
      answer: () => new Promise<string | boolean>((resolve) => waiting.push(resolve)),
    };
    // Named only when a log line needs it: redacting every request's words up front was work before any token was checked.
    const inFlight = {
      get name() {
        return describe(request);
      },
    };
    requestsInFlight.add(inFlight);
    handle(runtime, request, channel)
      .then(
        () => finish(),
        (error) => {
          if (error instanceof PlatformError) return finish({ ...errorResponse(error.code, error.message, error.exitStatus), hints: error.hints });
          runtime.log('error', `request "${inFlight.name}" failed: ${(error as Error)?.stack ?? error}`);
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

/** The uids of these accounts in /etc/passwd (those that exist). */
function uidsOf(names: ReadonlySet<string>): number[] {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .filter((fields) => names.has(fields[0]!) && /^\d+$/.test(fields[2] ?? ''))
      .map((fields) => Number(fields[2]));
  } catch {
    return [];
  }
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
