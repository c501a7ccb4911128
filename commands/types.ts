// The command model: a command is data (its words, typed arguments, a
// one-line summary) plus a `run` that returns plain data. Nothing here
// prints, and nothing here imports a renderer: the same Reply is drawn by
// the Ink console, the plain-text renderer and the JSON renderer.

import type { Store } from '../store/db.js';
import type { Paths } from '../store/paths.js';
import type { Shape } from './json-shape.js';

// ---------------------------------------------------------------------------
// Errors are values with a stable code; exit status 2 for bad input, 1 for
// failures (3, daemon unreachable, is the client's own).

export type ExitStatus = 0 | 1 | 2 | 3;

export class PlatformError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitStatus: 1 | 2 = 1,
    readonly hints: string[] = [],
  ) {
    super(message);
  }
}

/** A person typed something that cannot work: exit status 2. */
export function badInput(code: string, message: string, hints: string[] = []): PlatformError {
  return new PlatformError(code, message, 2, hints);
}

/** The request was fine but doing it failed: exit status 1. */
export function failure(code: string, message: string, hints: string[] = []): PlatformError {
  return new PlatformError(code, message, 1, hints);
}

// ---------------------------------------------------------------------------
// What a command returns.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type Block =
  /** Free text, printed as is. */
  | { kind: 'text'; text: string }
  /** A YAML-ish nested key/value tree, as the appliance prints config. */
  | { kind: 'tree'; value: { [key: string]: Json } }
  /** Columns and rows of strings. */
  | { kind: 'table'; columns: string[]; rows: string[][] }
  /** `USAGE:` listing of a group: syntax and description pairs. */
  | { kind: 'usage'; entries: [string, string][] }
  /** A line the console draws in the warning colour. */
  | { kind: 'warning'; text: string }
  /** A long text (a log): paged on a terminal (scroll, / search, n/N, q), printed as is elsewhere. */
  | { kind: 'page'; title: string; text: string };

export interface Reply {
  /** What the text and Ink renderers show, in order. */
  blocks: Block[];
  /** What `--json` prints; when absent, derived from the blocks. */
  data?: Json;
  /** Non-zero when the command ran but reports a failure (e.g. a check). */
  exitStatus?: ExitStatus;
}

/** A label as a JSON key: `last change` → `lastChange`, `maintenance-mode` → `maintenanceMode`, `CN` → `cn`. */
export function camelKey(label: string): string {
  const words = label.split(/[\s_-]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? (w === w.toUpperCase() ? w.toLowerCase() : w[0]!.toLowerCase() + w.slice(1)) : w[0]!.toUpperCase() + w.slice(1))).join('');
}

/** The JSON of a tree shown as text: the same values, keys in camelCase (commands/json-shape.ts). */
function camelKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camelKey(k), camelKeys(v)]));
}

export const reply = {
  /** Text; its JSON is `{ message }` unless given. */
  text: (text: string, data?: Json): Reply => ({ blocks: [{ kind: 'text', text }], data: data ?? { message: text } }),
  tree: (value: { [key: string]: Json }, data?: Json): Reply => ({ blocks: [{ kind: 'tree', value }], data: data ?? camelKeys(value) }),
  table: (columns: string[], rows: string[][], data?: Json): Reply => ({
    blocks: [{ kind: 'table', columns, rows }],
    data: data ?? rows.map((row) => Object.fromEntries(columns.map((c, i) => [camelKey(c), row[i] ?? '']))),
  }),
  blocks: (blocks: Block[], data?: Json, exitStatus?: ExitStatus): Reply => ({ blocks, data, exitStatus }),
};

// ---------------------------------------------------------------------------
// Where a command runs: inside platformd, on behalf of one person.

export type Origin = 'console' | 'ssh' | 'cluster' | 'local';

export interface Caller {
  user: string;
  /** The user proved who they are (token or cluster certificate); otherwise they hold no rights. */
  authenticated: boolean;
  origin: Origin;
  /** SSH source address (from SSH_CONNECTION) or the cluster peer's address. */
  address?: string;
  /** The caller's own SSH connection "src srcport dst dstport", for lockout checks. */
  sshConnection?: string;
  /** The caller answered yes to every question up front (`--yes`). */
  assumeYes: boolean;
  /** There is a person at a terminal who can answer questions. */
  interactive: boolean;
}

export interface Question {
  text: string;
  /** A default value offered in forms; empty answers take it. */
  initial?: string;
  /** Typed characters are not echoed (passwords). */
  secret?: boolean;
}

export interface Context {
  store: Store;
  paths: Paths;
  caller: Caller;
  /** Ask a yes/no question; false when nobody can answer and `--yes` was not given. */
  confirm(question: string): Promise<boolean>;
  /** Ask for a value (forms, wizards); fails with a clear error when nobody can answer. */
  ask(question: Question): Promise<string>;
  /** A progress line for long commands (the console shows it beside a spinner). */
  progress(text: string): void;
  /** The daemon's long-lived parts (firewall, certificates, cluster ...), looked up by name. */
  services: Services;
  /** Cancelled when the person presses Ctrl-C or disconnects. */
  signal: AbortSignal;
}

/**
 * The daemon's subsystems register themselves here at start so that commands
 * reach them without importing the daemon. Each subsystem's module declares
 * its own entry with `declare module` augmentation.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Services {}

// ---------------------------------------------------------------------------
// Arguments.

/** Parses one word typed by a person; throws a PlatformError (bad input) when it is wrong. */
export interface ArgType<T = unknown> {
  /** Shown in help and usage, e.g. `<server:port>`. */
  hint: string;
  parse(text: string): T;
  /** Fixed completions (choices). */
  choices?: readonly string[];
  /** Completions that depend on the node's state (media files, cluster nodes ...). */
  complete?: (ctx: Context) => Promise<string[]> | string[];
  /** How the word appears in the audit log; secrets replaced by `***`. */
  redact?: (text: string) => string;
}

export interface ArgSpec {
  name: string;
  type: ArgType;
  summary?: string;
  optional?: boolean;
  /** Takes every remaining word (e.g. `cluster run all <command...>`). */
  rest?: boolean;
}

export interface OptionSpec {
  /** Long name without dashes: `hostname` for `--hostname`. */
  name: string;
  type: ArgType;
  summary: string;
  required?: boolean;
  /** A flag without a value. */
  flag?: boolean;
}

export type Args = Record<string, unknown>;

export interface Command {
  words: readonly string[];
  summary: string;
  args?: readonly ArgSpec[];
  options?: readonly OptionSpec[];
  /** Disruptive commands: the question asked (y/N) before `run`. */
  confirm?: string | ((args: Args) => string | undefined);
  /** Hidden from help and completion (e.g. internal cluster verbs). */
  hidden?: boolean;
  /** What `--json` prints (commands/json-shape.ts): one convention for every command, checked over the whole tree. */
  json?: Shape;
  run(ctx: Context, args: Args): Promise<Reply> | Reply;
}

/** A top-level group as listed in `help`. */
export interface Group {
  word: string;
  summary: string;
  commands: readonly Command[];
  /** False for single top-level words (help, health) kept out of the group menu. */
  listed?: boolean;
}
