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
  /** What values are accepted when neither the hint nor the choices say it (a range: `0..100`), for `?`. */
  accepts?: string;
  /** Completions that depend on the node's state (media files, cluster nodes ...); `before` are the argument words typed before this one. */
  complete?: (ctx: Context, before: readonly string[]) => Promise<string[]> | string[];
  /** How the word appears in the audit log; secrets replaced by `***`. */
  redact?: (text: string) => string;
  /**
   * The rest of the line is a console command of its own (`schedule add`,
   * `cluster run`): its words are hidden as that command hides them (a key,
   * a URI's password), in the audit log and the console's history alike.
   */
  command?: boolean;
}

export interface ArgSpec<T = unknown> {
  name: string;
  type: ArgType<T>;
  summary?: string;
  optional?: boolean;
  /** Takes every remaining word (e.g. `cluster run all <command...>`). */
  rest?: boolean;
}

export interface OptionSpec<T = unknown> {
  /** Long name without dashes: `hostname` for `--hostname`. */
  name: string;
  type: ArgType<T>;
  summary: string;
  required?: boolean;
  /** A flag without a value. */
  flag?: boolean;
}

/** Arguments as the parser hands them over, before a command's declarations type them. */
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
  /** Runs until the person stops it (Ctrl-C): never a scheduled job, which nobody would stop. */
  endless?: boolean;
  /** Prints a secret (a key): never a scheduled job, whose log the store keeps. */
  printsSecret?: boolean;
  /**
   * Only an administrator may run it, whatever the grants. Set by
   * commands/admin-only.ts, the one table of such commands, never by a
   * command's own file.
   */
  adminOnly?: boolean;
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

/**
 * The whole command tree as a command sees it, registered by the daemon in
 * its services: a command that needs another command or a path of the tree
 * (`user grant` checks its prefix) asks here by words, never by importing
 * the list of groups (which imports that command) or by position in a group.
 */
export interface CommandIndex {
  readonly groups: readonly Group[];
}

declare module './context.js' {
  interface Services {
    commands?: CommandIndex;
  }
}

// ---------------------------------------------------------------------------
// Typed commands: `run` receives its arguments typed from their declarations.

type Parsed<S> = S extends { type: ArgType<infer T> } ? T : never;

/** A positional argument's value: a list for `rest`, possibly absent when `optional`. */
type ArgValue<S extends ArgSpec> = S extends { rest: true }
  ? Parsed<S>[]
  : S extends { optional: true }
    ? Parsed<S> | undefined
    : Parsed<S>;

/** An option's value: a flag is true or absent; only a required option is always there. */
type OptionValue<O extends OptionSpec> = O extends { flag: true } ? true | undefined : O extends { required: true } ? Parsed<O> : Parsed<O> | undefined;

/** The arguments `run` receives, by name, from the command's `args` and `options`. */
export type ArgsOf<A extends readonly ArgSpec[], O extends readonly OptionSpec[]> = {
  [S in A[number] as S['name']]: ArgValue<S>;
} & {
  [P in O[number] as P['name']]: OptionValue<P>;
};

export interface CommandDefinition<A extends readonly ArgSpec[], O extends readonly OptionSpec[]> extends Omit<Command, 'args' | 'options' | 'confirm' | 'run'> {
  args?: A;
  options?: O;
  confirm?: string | ((args: ArgsOf<A, O>) => string | undefined);
  run(ctx: Context, args: ArgsOf<A, O>): Promise<Reply> | Reply;
}

/**
 * A command whose `run` (and `confirm`) see their arguments typed from the
 * declarations: `{ name: 'port', type: integer(...) }` arrives as a number,
 * an optional one as `number | undefined`, a rest one as `number[]`.
 */
export function defineCommand<const A extends readonly ArgSpec[] = [], const O extends readonly OptionSpec[] = []>(definition: CommandDefinition<A, O>): Command {
  // The tree's parser builds the arguments from these same declarations
  // (commands/tree.ts parseArgs), so this is the one place they are typed.
  const typed = (args: Args) => args as ArgsOf<A, O>;
  const { confirm, run } = definition;
  return {
    ...definition,
    confirm: typeof confirm === 'function' ? (args) => confirm(typed(args)) : confirm,
    run: (ctx, args) => run(ctx, typed(args)),
  };
}
