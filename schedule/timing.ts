// When a job runs, as the console says it (`schedule time`), and as a cron
// pattern that croner turns into due times. Times are the node's local time.

import { Cron } from 'croner';
import type { Timing } from '../store/schedule.js';

/** A job runs at 00:00 daily until it is timed. */
export const DEFAULT_TIMING: Timing = { kind: 'daily', hour: 0, minute: 0 };

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function cronPattern(timing: Timing): string {
  switch (timing.kind) {
    case 'daily':
      return `${timing.minute} ${timing.hour} * * *`;
    case 'hours':
      return `0 */${timing.every} * * *`;
    case 'weekly':
      return `0 0 * * ${timing.day}`;
  }
}

export function describeTiming(timing: Timing): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  switch (timing.kind) {
    case 'daily':
      return `daily at ${pad(timing.hour)}:${pad(timing.minute)}`;
    case 'hours':
      return `every ${timing.every} hour${timing.every === 1 ? '' : 's'}`;
    case 'weekly':
      return `weekly on ${WEEKDAYS[timing.day]} at 00:00`;
  }
}

/** The next due time strictly after `after`. */
export function nextDue(timing: Timing, after: Date): Date | undefined {
  return new Cron(cronPattern(timing), { paused: true }).nextRun(after) ?? undefined;
}

/**
 * The latest due time in (after, now], or undefined when none fell in it.
 * However many were missed (the daemon was down), a job runs once for them.
 */
export function latestDue(timing: Timing, after: Date, now: Date): Date | undefined {
  const cron = new Cron(cronPattern(timing), { paused: true });
  let due = cron.nextRun(after);
  if (!due || due > now) return undefined;
  // At most one due time an hour: a year's worth bounds the walk.
  for (let i = 0; i < 9000; i++) {
    const next = cron.nextRun(due);
    if (!next || next > now) break;
    due = next;
  }
  return due;
}
