// Where a command runs: inside platformd, on behalf of one person.

import type { Paths } from './paths.js';

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
  /** Without a person, the console answers from its standard input, a line each (a command's --passwords-from-stdin). */
  fromStdin?: boolean;
}

/**
 * What a command is handed. The config store adds its `store` member from
 * store/db.ts (module augmentation), as subsystems add their Services, so
 * that core knows no floor above it.
 */
export interface Context {
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

