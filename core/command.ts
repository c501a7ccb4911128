// The command model: a command is data (its words, typed arguments, a
// one-line summary) plus a `run` that returns a Reply.

import type { Context } from './context.js';
import type { Shape } from './json-shape.js';
import type { Reply } from './reply.js';

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
  /** What `--json` prints (core/json-shape.ts): one convention for every command, checked over the whole tree. */
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
