// A change that could cut the administrator off is a confirmed commit: it is
// applied at once and undone by itself unless confirmed within a bound. The
// firewall (management sources, limits) and static networking (addresses,
// gateways, routes) both hold their change in one of these windows.

import { failure } from './errors.js';

/** How long a change waits for its confirmation unless the command says otherwise. */
export const DEFAULT_CONFIRM_SECONDS = 120;
/** The bounds a command may choose from (`<confirm-within-seconds>`). */
export const CONFIRM_SECONDS_RANGE = [2, 3600] as const;

export interface PendingChange {
  description: string;
  rollsBackAt: string;
}

interface Open<T> {
  previous: T;
  deadline: Date;
  timer: NodeJS.Timeout;
  description: string;
}

/**
 * One change at a time awaiting confirmation. `undo` puts `previous` back
 * (and says why); the window calls it when the bound passes, or when
 * `rollback` is asked for. `group` names the commands in messages ("firewall").
 */
export class ConfirmWindow<T> {
  #open?: Open<T>;

  constructor(
    readonly group: string,
    private readonly undo: (previous: T, description: string, why: string) => Promise<void>,
  ) {}

  get pending(): PendingChange | undefined {
    return this.#open && { description: this.#open.description, rollsBackAt: this.#open.deadline.toISOString() };
  }

  /** Refuses a second change while one awaits confirmation. */
  assertNonePending(): void {
    if (this.#open) throw failure('pending-change', `a change is waiting for confirmation (${this.#open.description}); run "${this.group} confirm" or "${this.group} rollback" first`);
  }

  /** Starts the countdown of a change just applied; returns when it rolls back. */
  open(previous: T, description: string, seconds: number): Date {
    this.assertNonePending();
    const deadline = new Date(Date.now() + seconds * 1000);
    const timer = setTimeout(() => void this.rollback('not confirmed in time').catch(() => undefined), seconds * 1000);
    timer.unref();
    this.#open = { previous, deadline, timer, description };
    return deadline;
  }

  confirm(): string {
    const { description, timer } = this.take();
    clearTimeout(timer);
    return description;
  }

  async rollback(why = 'rolled back by the administrator'): Promise<string> {
    const { previous, description, timer } = this.take();
    clearTimeout(timer);
    await this.undo(previous, description, why);
    return description;
  }

  /** Stops the countdown without deciding (the daemon stops). */
  stop(): void {
    if (this.#open) clearTimeout(this.#open.timer);
  }

  private take(): Open<T> {
    const open = this.#open;
    if (!open) throw failure('nothing-pending', `no ${this.group} change is waiting for confirmation`);
    this.#open = undefined;
    return open;
  }
}
