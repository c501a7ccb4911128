// What a notification says, whichever way it goes: one message per event
// (the node, the level, the event's stable name, its text and time), or one
// summary of many. Pure, so the mail and the trap say the same thing.

import type { EventLevel, OutboxGroup } from '../store/events.js';
import { formatTime } from '../core/time.js';

export interface Notification {
  node: string;
  level: EventLevel;
  /** The event's stable name (events/catalog.ts), or notify-summary. */
  event: string;
  text: string;
  at: string;
}

const RANK: Record<EventLevel, number> = { info: 0, warn: 1, error: 2 };

/** One notification standing for many: held back by the rate limit, or raised in maintenance mode. */
export function summaryOf(node: string, groups: OutboxGroup[], why: string): Notification {
  const count = groups.reduce((n, g) => n + g.count, 0);
  const level = groups.reduce<EventLevel>((l, g) => (RANK[g.level] > RANK[l] ? g.level : l), 'info');
  const parts = groups.map((g) => `${g.name} (${g.level}) x${g.count}`);
  const first = groups.map((g) => g.first).sort()[0] ?? '';
  const last = groups.map((g) => g.last).sort().at(-1) ?? '';
  return { node, level, event: 'notify-summary', at: last, text: `${count} more event${count === 1 ? '' : 's'} ${why}, from ${formatTime(first)} to ${formatTime(last)}: ${parts.join(', ')}`.slice(0, 1000) };
}

export function mailSubject(n: Notification): string {
  return `[${n.node}] ${n.level.toUpperCase()}: ${n.event}`;
}

export function mailBody(n: Notification): string {
  return [`node:  ${n.node}`, `level: ${n.level}`, `event: ${n.event}`, `time:  ${formatTime(n.at)}`, '', n.text, ''].join('\n');
}
