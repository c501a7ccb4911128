// Runs one request from a client: parses the words against the tree (with
// the caller's rights), asks the questions the command needs through the
// client, runs it, audits it, and answers with one result or error.

import { buildTree, complete, helpAt, parse, usageOf } from '../commands/tree.js';
import { groups } from '../commands/index.js';
import { PlatformError, badInput, type ExitStatus } from '../core/errors.js';
import { type Caller, type Context } from '../core/context.js';
import { type Json, type Reply } from '../core/reply.js';
import type { AuditOutcome } from '../store/audit.js';
import type { Request, Response, SessionKind } from '../core/protocol.js';
import { isAdministrator, rightsOf } from '../users/rights.js';
import type { Runtime } from '../core/runtime.js';
import { bannerLines } from '../status/banner.js';
import { gatherFacts } from '../status/facts.js';
import { sessionLimit } from '../ssh/login.js';
import { escapeControls } from '../core/escape.js';
import { localCaller, UNPROVEN } from './caller.js';
import { redactSecrets } from '../net/uri.js';
import { storeFailure } from '../store/db.js';
import { stopping } from './stopping.js';
import { refuseOutsideRecovery } from './recovery.js';

export const tree = buildTree(groups);

/** The most characters of words an unproven caller's request may hold and still be parsed (its only right is `help`). */
const UNPROVEN_WORDS_CHARS = 256;

/** How the daemon's own log names the words of a caller that proved nothing. */
const UNPROVEN_WORDS = '(the words of an unproven caller are not kept)';

export interface Channel {
  send(response: Response): void;
  /** The next `answer` the client sends. */
  answer(): Promise<string | boolean>;
  signal: AbortSignal;
  /** The uid the kernel gives for the other end of the socket (SO_PEERCRED), when it could tell. */
  peerUid?: number;
}

/** Runs one request from the local socket, validated by core/protocol.ts; the caller is what its token proves. */
export async function handle(runtime: Runtime, request: Exclude<Request, { op: 'answer' }>, channel: Channel): Promise<void> {
  const caller = localCaller(runtime.paths, request.caller);
  switch (request.op) {
    case 'run':
      return run(runtime, request.words, caller, channel);
    case 'complete': {
      const rights = rightsOf(runtime.store, caller.user, caller.authenticated);
      const ctx = contextFor(runtime, caller, channel);
      const result = await complete(tree, request.line, rights.visible, ctx);
      return channel.send({ type: 'completion', ...result });
    }
    case 'help-at': {
      const rights = rightsOf(runtime.store, caller.user, caller.authenticated);
      const ctx = contextFor(runtime, caller, channel);
      return channel.send({ type: 'help-at', entries: await helpAt(tree, request.line, rights.visible, ctx) });
    }
    case 'banner':
      return channel.send({ type: 'banner', ...(await banner(runtime)) });
    case 'session':
      return holdSession(runtime, request.kind, caller, channel);
    case 'audit':
      return recordEvent(runtime, request, caller, channel);
  }
}

/** How a caller that proved nothing is counted: by the kernel's uid of its connection, or not at all. */
const unprovenPeer = (channel: Channel): string => (channel.peerUid === undefined ? UNPROVEN : `uid ${channel.peerUid}`);

/**
 * The audit writer: who and where as verified (never as claimed), and every
 * text with its control characters escaped, so that no stored word can draw
 * a fake row or drive the terminal of whoever reads `log audit`. A caller
 * that proved nothing is only counted (per minute, peer and outcome): a
 * flood of them costs a counter, never a row of its words each.
 */
function writeAudit(runtime: Runtime, caller: Caller, channel: Channel, entry: { words: string; outcome: AuditOutcome; exitStatus: number; message?: string | null }): void {
  if (!caller.authenticated) return runtime.store.audit.countUnproven(unprovenPeer(channel), entry.outcome);
  runtime.store.audit.record({
    user: caller.user,
    origin: caller.origin,
    address: caller.address ?? null,
    words: escapeControls(entry.words),
    outcome: entry.outcome,
    exit_status: entry.exitStatus,
    message: entry.message == null ? null : escapeControls(entry.message, { lines: true }),
  });
}

/** The SSH sessions open now, by whose they are: each console holds one connection for its whole life. */
const openSessions = new Map<Channel, string>();

/** How a session shows in the audit log; a one-shot command is audited as itself. */
const SESSION_WORDS: Record<SessionKind, string> = { login: 'ssh login', command: 'ssh command', sftp: 'sftp session' };

/**
 * The most sessions one user who is not an administrator may hold: half the
 * node's limit, at least one. And the last free slot is always kept for an
 * administrator, so no other user can keep them from logging in.
 */
export const perUserSessions = (limit: number) => Math.max(1, Math.floor(limit / 2));

function sessionRefusal(caller: Caller, limit: number): string | undefined {
  if (!caller.authenticated) return 'refused: the caller did not prove to be a console user of this node';
  const open = openSessions.size;
  if (open >= limit) return `refused: this node already has ${open} SSH sessions, its limit (see "system ssh_session_limit")`;
  if (isAdministrator(caller.user)) return undefined;
  if (open >= limit - 1) return `refused: the last of this node's ${limit} SSH sessions is kept for an administrator`;
  const own = [...openSessions.values()].filter((user) => user === caller.user).length;
  const cap = perUserSessions(limit);
  if (own >= cap) return `refused: ${caller.user} already holds ${own} SSH sessions, the most one user may (half the node's limit of ${limit}); end one first`;
  return undefined;
}

async function holdSession(runtime: Runtime, kind: SessionKind, caller: Caller, channel: Channel): Promise<void> {
  const audit = (outcome: AuditOutcome, message: string | null) => writeAudit(runtime, caller, channel, { words: SESSION_WORDS[kind], outcome, exitStatus: outcome === 'ok' ? 0 : 1, message });
  const limit = sessionLimit(runtime);
  const refusal = sessionRefusal(caller, limit);
  if (refusal) {
    audit('refused', refusal);
    return channel.send({ type: 'error', code: 'session-refused', message: refusal, hints: [], exitStatus: 1 });
  }
  openSessions.set(channel, caller.user);
  if (kind !== 'command') audit('ok', null);
  channel.send({ type: 'session', active: openSessions.size, limit });
  // A client gone before this point must not hold its slot for ever.
  if (!channel.signal.aborted) await new Promise((resolve) => channel.signal.addEventListener('abort', resolve, { once: true }));
  openSessions.delete(channel);
}

/** Only a proven caller's events are recorded, under the name it proved. */
function recordEvent(runtime: Runtime, event: Extract<Request, { op: 'audit' }>, caller: Caller, channel: Channel): void {
  if (!caller.authenticated) {
    return channel.send({ type: 'error', code: 'not-permitted', message: 'only console users may add to the audit log', hints: [], exitStatus: 1 });
  }
  const exitStatus = event.outcome === 'ok' ? 0 : 1;
  writeAudit(runtime, caller, channel, { words: redactUnparsed([event.words]), outcome: event.outcome, exitStatus, message: event.message ?? null });
  channel.send({ type: 'result', blocks: [], data: null, exitStatus });
}

export async function banner(runtime: Runtime) {
  const facts = await gatherFacts(runtime.store, runtime.paths, runtime.services);
  return { lines: bannerLines(facts, new Date()), hostname: facts.hostname };
}

async function run(runtime: Runtime, words: string[], caller: Caller, channel: Channel): Promise<void> {
  // No request ever joins a transaction another one left open (its writes would be acknowledged, then lost).
  if (runtime.store.settle()) runtime.log('error', 'a transaction left open was rolled back before the next command');
  const rights = rightsOf(runtime.store, caller.user, caller.authenticated);
  // An unproven caller's words are neither kept nor redacted: it is only counted.
  let auditWords = caller.authenticated ? redactUnparsed(words) : UNPROVEN_WORDS;
  const audit = (outcome: AuditOutcome, exitStatus: ExitStatus, message?: string) => writeAudit(runtime, caller, channel, { words: auditWords, outcome, exitStatus, message });

  try {
    // An unproven caller may run `help` and no more: long words are refused unparsed, so that its work stays small.
    if (!caller.authenticated && words.reduce((chars, word) => chars + word.length + 1, 0) > UNPROVEN_WORDS_CHARS) {
      throw new PlatformError('not-permitted', 'you have no right to run this: platformd could not prove who you are (no valid token)', 1);
    }
    const parsed = parse(tree, words, rights.visible);
    if (parsed.kind === 'group') {
      const usage = usageOf(parsed.node, rights.visible);
      channel.send({ type: 'result', blocks: [{ kind: 'usage', entries: usage }], data: usage.map(([syntax, summary]) => ({ syntax, summary })), exitStatus: 0 });
      return;
    }
    auditWords = parsed.audit;
    refuseOutsideRecovery(runtime, parsed.command.words);
    if (!rights.permits(parsed.audit)) throw new PlatformError('not-permitted', `you have no right to run "${parsed.audit}"`, 1);
    const ctx = contextFor(runtime, caller, channel);
    const { command, args } = parsed;
    const question = typeof command.confirm === 'function' ? command.confirm(args) : command.confirm;
    if (question && !(await ctx.confirm(question))) {
      audit('cancelled', 1, 'not confirmed');
      channel.send({ type: 'error', code: 'not-confirmed', message: caller.interactive ? 'cancelled' : `${question} — not confirmed; add --yes to confirm`, hints: [], exitStatus: 1 });
      return;
    }
    const result: Reply = await command.run(ctx, args);
    const exitStatus = result.exitStatus ?? 0;
    const blocks = [...result.blocks];
    // A stream (log follow) ends when platformd stops: say why it ended.
    if (stopping.signal.aborted) blocks.push({ kind: 'warning', text: 'WARNING: platformd stopped while this command ran; what it shows may be incomplete' });
    try {
      audit(exitStatus === 0 ? 'ok' : 'failed', exitStatus);
    } catch (auditError) {
      // The command's own change is committed; say so, and that its record is missing.
      runtime.store.settle();
      const why = storeFailure(auditError, runtime.paths.home)?.message ?? (auditError as Error).message;
      runtime.log('error', `${escapeControls(auditWords)}: done but not audited: ${why}`);
      blocks.push({ kind: 'warning', text: `WARNING: done, but the audit log could not record it: ${why}` });
    }
    channel.send({ type: 'result', blocks, data: result.data ?? dataOf(result), exitStatus });
  } catch (error) {
    // A write SQLite refused (disk full, I/O error) may leave a transaction open: end it before anything else writes.
    if (runtime.store.settle()) runtime.log('error', `${escapeControls(auditWords)}: a transaction left open by a failed write was rolled back`);
    const known = error instanceof PlatformError ? error : storeFailure(error, runtime.paths.home);
    const e = known ?? new PlatformError('internal', (error as Error).message ?? String(error), 1);
    if (!known) runtime.log('error', `${escapeControls(auditWords)}: ${redactSecrets((error as Error).stack ?? String(error))}`);
    const message = redactSecrets(e.message);
    try {
      audit(e.code === 'not-permitted' ? 'refused' : e.exitStatus === 2 ? 'bad-input' : 'failed', e.exitStatus, message);
    } catch (auditError) {
      runtime.store.settle();
      runtime.log('error', `${escapeControls(auditWords)}: not audited: ${(auditError as Error).message}`);
    }
    channel.send({ type: 'error', code: e.code, message, hints: e.hints, exitStatus: e.exitStatus });
  }
}

function contextFor(runtime: Runtime, caller: Caller, channel: Channel): Context {
  return {
    store: runtime.store,
    paths: runtime.paths,
    services: runtime.services,
    caller,
    signal: channel.signal,
    progress: (text) => channel.send({ type: 'progress', text }),
    async confirm(question) {
      if (caller.assumeYes) return true;
      if (!caller.interactive) return false;
      channel.send({ type: 'confirm', question });
      return (await channel.answer()) === true;
    },
    async ask(question) {
      if (!caller.interactive && !question.fromStdin) throw badInput('needs-answer', `${question.text}: nobody to ask; give the value as an argument`);
      channel.send({ type: 'ask', question: question.text, initial: question.initial, secret: question.secret });
      const answer = String(await channel.answer());
      return answer === '' && question.initial !== undefined ? question.initial : answer;
    },
  };
}

/** Before a line parses, hide anything that looks like a URI password or a secret option (net/uri.ts redactSecrets). */
export function redactUnparsed(words: readonly string[]): string {
  return words.map((w) => redactSecrets(w, { word: true })).join(' ');
}

function dataOf(result: Reply): Json {
  return result.blocks.map((b) => {
    switch (b.kind) {
      case 'text':
      case 'warning':
      case 'page':
        return b.text;
      case 'tree':
        return b.value;
      case 'table':
        return b.rows.map((row) => Object.fromEntries(b.columns.map((c, i) => [c, row[i] ?? ''])));
      case 'usage':
        return b.entries.map(([syntax, summary]) => ({ syntax, summary }));
    }
  }) as Json;
}

/** Runs words as a command for a caller that cannot answer questions (cluster run, a scheduled job); returns the final answer. Aborting `signal` cancels the command. */
export async function runNonInteractive(runtime: Runtime, words: string[], caller: Caller, signal: AbortSignal = stopping.signal): Promise<Extract<Response, { type: 'result' } | { type: 'error' }>> {
  let final: Extract<Response, { type: 'result' } | { type: 'error' }> | undefined;
  const channel: Channel = {
    send: (response) => {
      if (response.type === 'result' || response.type === 'error') final = response;
    },
    answer: async () => false,
    signal,
  };
  await run(runtime, words, { ...caller, interactive: false }, channel);
  return final ?? { type: 'error', code: 'internal', message: 'no answer', hints: [], exitStatus: 1 };
}
