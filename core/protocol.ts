// The local API between `platform` and `platformd`: newline-delimited JSON
// over the unix socket run/platformd.sock, one connection per request.
// Requests flow client -> daemon; the daemon streams progress and questions
// back and ends with exactly one `result` or `error`.
//
// Both ends treat what arrives as untrusted: every line is bounded in size,
// parsed without throwing, and checked against a schema before use.

import { isIP } from 'node:net';
// zod's mini build: the same checks, a fraction of the console's start-up cost.
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import type { Json, Block } from './reply.js';
import type { ExitStatus } from './errors.js';

// Problems are described in English ("Unrecognized key: ...") rather than zod-mini's bare "Invalid input".
z.config(en());

/** The bounds of the local API (daemon/api.ts enforces them; tests and the benchmark read them). */
export const LIMITS = {
  /** One request or answer line. */
  lineBytes: 64 * 1024,
  /** Lines one connection may send: its request and the answers to its questions. */
  messagesPerConnection: 64,
  /** Connections open at once; SSH sessions hold one each for their whole life. */
  connections: 256,
  /** One message from the daemon (a command's whole answer). */
  answerBytes: 16 * 1024 * 1024,
  /** Bytes written to all clients and not yet read by them, together. */
  pendingBytes: 64 * 1024 * 1024,
  /** From connecting to a complete request. */
  requestWaitMs: 10_000,
  /** For a person to answer a question. */
  answerWaitMs: 15 * 60_000,
  /** For a client to read its final answer before the daemon drops it. */
  drainMs: 10_000,
} as const;

// ---------------------------------------------------------------------------
// Requests (client -> daemon).

/** What a console says about itself. Only the token proves anything (daemon/caller.ts). */
const buildCallerClaim = () =>
  z.strictObject({
    /** The Unix name the console runs as; believed only with its token. */
    user: z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9._-]{0,31}$/, 'not a user name')),
    /** Proves `user` (see daemon/identity.ts); absent or wrong = no rights. */
    token: z.optional(z.string().check(z.maxLength(256))),
    /** SSH_CONNECTION of the console: "src srcport dst dstport". */
    sshConnection: z.optional(z.string().check(z.maxLength(200), z.refine(isSshConnection, 'not "address port address port"'))),
    interactive: z.boolean(),
    assumeYes: z.boolean(),
  });

const word = z.string().check(z.maxLength(4096));
const AUDIT_OUTCOMES = ['ok', 'failed', 'bad-input', 'refused', 'cancelled'] as const;
const SESSION_KINDS = ['login', 'command', 'sftp'] as const;

/**
 * A schema built on its first use: the console parses answers, never
 * requests or nodes' answers, and building a schema costs its start-up time.
 */
function builtOnUse<S extends { safeParse(value: unknown): unknown }>(build: () => S): Pick<S, 'safeParse'> {
  let schema: S | undefined;
  return { safeParse: ((value: unknown) => (schema ??= build()).safeParse(value)) as S['safeParse'] };
}

const buildRequestSchema = () => {
  const callerClaim = buildCallerClaim();
  return z.discriminatedUnion('op', [
    z.strictObject({ op: z.literal('run'), words: z.array(word).check(z.maxLength(256)), caller: callerClaim }),
    z.strictObject({ op: z.literal('complete'), line: word, caller: callerClaim }),
    z.strictObject({ op: z.literal('help-at'), line: word, caller: callerClaim }),
    z.strictObject({ op: z.literal('banner'), caller: callerClaim }),
    /** Held open for the life of an SSH session; refused past the session limit. */
    z.strictObject({ op: z.literal('session'), kind: z.enum(SESSION_KINDS), caller: callerClaim }),
    /** Something a console saw outside a command (a file transfer), for the audit log. */
    z.strictObject({ op: z.literal('audit'), caller: callerClaim, words: word, outcome: z.enum(AUDIT_OUTCOMES), message: z.optional(word) }),
    z.strictObject({ op: z.literal('answer'), value: z.union([word, z.boolean()]) }),
  ]);
};
/** Every request the local socket accepts; anything else (an extra key too) is refused. */
export const requestSchema = builtOnUse(buildRequestSchema);

export type CallerClaim = z.infer<ReturnType<typeof buildCallerClaim>>;
export type Request = z.infer<ReturnType<typeof buildRequestSchema>>;
/** What an SSH session runs: the interactive console, one command, or file transfers. */
export type SessionKind = (typeof SESSION_KINDS)[number];

export function isSshConnection(text: string): boolean {
  const parts = text.split(' ');
  const port = (p: string | undefined) => /^\d{1,5}$/.test(p ?? '') && Number(p) <= 65535;
  return parts.length === 4 && isIP(parts[0]!) !== 0 && port(parts[1]) && isIP(parts[2]!) !== 0 && port(parts[3]);
}

// ---------------------------------------------------------------------------
// Responses (daemon -> client).

export type Response =
  | { type: 'progress'; text: string }
  | { type: 'confirm'; question: string }
  | { type: 'ask'; question: string; initial?: string; secret?: boolean }
  | { type: 'result'; blocks: Block[]; data: Json; exitStatus: ExitStatus }
  | { type: 'error'; code: string; message: string; hints: string[]; exitStatus: ExitStatus }
  | { type: 'completion'; partial: string; candidates: string[] }
  | { type: 'help-at'; entries: { word: string; summary: string }[] }
  | { type: 'banner'; lines: BannerLine[]; hostname: string }
  | { type: 'session'; active: number; limit: number };

export interface BannerLine {
  text: string;
  /** Warning lines are upper case and drawn in the warning colour. */
  warning: boolean;
}

const exitStatus = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]);
const block = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({ kind: z.literal('warning'), text: z.string() }),
  z.object({ kind: z.literal('page'), title: z.string(), text: z.string() }),
  z.object({ kind: z.literal('tree'), value: z.record(z.string(), z.json()) }),
  z.object({ kind: z.literal('table'), columns: z.array(z.string()), rows: z.array(z.array(z.string())) }),
  z.object({ kind: z.literal('usage'), entries: z.array(z.tuple([z.string(), z.string()])) }),
]);

/** What the console accepts from the daemon: a wrong shape is an error, never a crash. */
export const responseSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), text: z.string() }),
  z.object({ type: z.literal('confirm'), question: z.string() }),
  z.object({ type: z.literal('ask'), question: z.string(), initial: z.optional(z.string()), secret: z.optional(z.boolean()) }),
  z.object({ type: z.literal('result'), blocks: z.array(block), data: z.json(), exitStatus }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string(), hints: z.array(z.string()), exitStatus }),
  z.object({ type: z.literal('completion'), partial: z.string(), candidates: z.array(z.string()) }),
  z.object({ type: z.literal('help-at'), entries: z.array(z.object({ word: z.string(), summary: z.string() })) }),
  z.object({ type: z.literal('banner'), lines: z.array(z.object({ text: z.string(), warning: z.boolean() })), hostname: z.string() }),
  z.object({ type: z.literal('session'), active: z.number(), limit: z.number() }),
]);

// ---------------------------------------------------------------------------
// A member's answer to `cluster run` (cluster agent -> primary).

/** What one command's run ends with: its Reply, or its error. */
export type FinalAnswer = Extract<Response, { type: 'result' } | { type: 'error' }>;

/** The bounds of one node's answer to `cluster run`: another node is untrusted input too. */
export const NODE_ANSWER_LIMITS = {
  /** The whole answer as received (cluster/agent.ts stops reading past it). */
  bytes: 4 * 1024 * 1024,
  blocks: 1024,
  /** Nesting of the data (and of a tree block's value). */
  depth: 32,
  /** Items of one list or keys of one object. */
  items: 65_536,
  /** One string. */
  stringChars: 1024 * 1024,
} as const;

/** True when `value` is nested no deeper than `depth` and no list or object holds more than `items` entries; iterative, so a hostile nesting cannot overflow the stack. */
export function withinJsonBounds(value: unknown, depth: number = NODE_ANSWER_LIMITS.depth, items: number = NODE_ANSWER_LIMITS.items): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, level] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (level >= depth) return false;
    const children = Array.isArray(item) ? item : Object.values(item);
    if (children.length > items) return false;
    for (const child of children) pending.push([child, level + 1]);
  }
  return true;
}

/** One node's answer to `cluster run`, checked before the primary shows or returns any of it. */
const nodeAnswerSchema = builtOnUse(() => {
  const boundedText = z.string().check(z.maxLength(NODE_ANSWER_LIMITS.stringChars));
  const boundedList = <T extends z.ZodMiniType>(item: T) => z.array(item).check(z.maxLength(NODE_ANSWER_LIMITS.items));
  const boundedJson = z.json().check(z.refine((value) => withinJsonBounds(value), `nested deeper than ${NODE_ANSWER_LIMITS.depth} or longer than ${NODE_ANSWER_LIMITS.items} items`));
  const nodeBlock = z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('text'), text: boundedText }),
    z.strictObject({ kind: z.literal('warning'), text: boundedText }),
    z.strictObject({ kind: z.literal('page'), title: boundedText, text: boundedText }),
    z.strictObject({ kind: z.literal('tree'), value: z.record(boundedText, z.json()).check(z.refine((value) => withinJsonBounds(value), 'tree too deep or too long')) }),
    z.strictObject({ kind: z.literal('table'), columns: boundedList(boundedText), rows: boundedList(boundedList(boundedText)) }),
    z.strictObject({ kind: z.literal('usage'), entries: boundedList(z.tuple([boundedText, boundedText])) }),
  ]);

  return z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('result'), blocks: z.array(nodeBlock).check(z.maxLength(NODE_ANSWER_LIMITS.blocks)), data: boundedJson, exitStatus }),
    z.strictObject({ type: z.literal('error'), code: boundedText.check(z.maxLength(64)), message: boundedText, hints: boundedList(boundedText).check(z.maxLength(16)), exitStatus }),
  ]);
});

/** A node's answer, or why it was refused; the nesting is measured before zod walks it (recursively). */
export function parseNodeAnswer(raw: unknown): { ok: true; answer: FinalAnswer } | { ok: false; problem: string } {
  // Answer, blocks, a block, a tree's value: the data's own depth sits under at most four levels.
  if (!withinJsonBounds(raw, NODE_ANSWER_LIMITS.depth + 4)) return { ok: false, problem: `nested deeper than ${NODE_ANSWER_LIMITS.depth} or longer than ${NODE_ANSWER_LIMITS.items} items` };
  const parsed = nodeAnswerSchema.safeParse(raw);
  return parsed.success ? { ok: true, answer: parsed.data } : { ok: false, problem: describeProblem(parsed.error) };
}

// ---------------------------------------------------------------------------
// Framing.

/**
 * Splits a byte stream into lines of at most `maxBytes`. Lines are cut on the
 * byte 0x0A, which never occurs inside a multi-byte UTF-8 character, and each
 * whole line is decoded at once: a character split across two writes arrives
 * intact. A line past the bound calls `tooLong` once and nothing after it.
 */
export function lineSplitter(maxBytes: number, onLine: (line: string) => void, tooLong: () => void): (chunk: Buffer) => void {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let stopped = false;
  const overflow = () => {
    stopped = true;
    held = [];
    tooLong();
  };
  return (chunk) => {
    let start = 0;
    while (!stopped) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      if (heldBytes + end - start > maxBytes) return overflow();
      if (newline < 0) {
        if (end > start) {
          held.push(Buffer.from(chunk.subarray(start)));
          heldBytes += end - start;
        }
        return;
      }
      const line = Buffer.concat([...held, chunk.subarray(start, newline)]).toString('utf8');
      held = [];
      heldBytes = 0;
      start = newline + 1;
      if (line.trim()) onLine(line);
    }
  };
}

/** JSON.parse that reports instead of throwing. */
export function parseJson(line: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(line) };
  } catch {
    return { ok: false };
  }
}

/** One line of a zod error, for the answer to a malformed request. */
export function describeProblem(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'malformed';
  const where = issue.path.length ? issue.path.map(String).join('.') : 'request';
  return `${where}: ${issue.message}`.slice(0, 200);
}

export const errorResponse = (code: string, message: string, status: 1 | 2): Extract<Response, { type: 'error' }> => ({ type: 'error', code, message, hints: [], exitStatus: status });
