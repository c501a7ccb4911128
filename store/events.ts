// The node's events, the local mailbox of its warnings and the outbox of
// notifications not yet delivered: typed repositories over migration 6.
// Raising an event is one transaction (event + mailbox + outbox rows), so a
// crash never leaves an event that was recorded but not queued.

import type { Store } from './db.js';

export type EventLevel = 'info' | 'warn' | 'error';
export const EVENT_LEVELS: readonly EventLevel[] = ['info', 'warn', 'error'];
const RANK: Record<EventLevel, number> = { info: 0, warn: 1, error: 2 };
/** A target added at a level receives events of that level and above. */
export const reaches = (targetLevel: EventLevel, eventLevel: EventLevel) => RANK[eventLevel] >= RANK[targetLevel];

export interface RecordedEvent {
  id: number;
  at: string;
  level: EventLevel;
  name: string;
  text: string;
}

export interface MailMessage extends RecordedEvent {
  event_id: number;
  read: number;
}

export interface OutboxRow {
  id: number;
  target: string;
  event_id: number;
  at: string;
  level: EventLevel;
  name: string;
  text: string;
  held: number;
  attempts: number;
  last_error: string | null;
}

/** Records an event and queues it: the mailbox for warn/error, the outbox for every target whose level it reaches. */
export function recordEvent(
  store: Store,
  event: { level: EventLevel; name: string; text: string; at?: string },
  targets: { level: EventLevel; uri: string }[],
  held: boolean,
): { event: RecordedEvent; queued: number } {
  return store.tx(() => {
    const at = event.at ?? new Date().toISOString();
    const id = Number(store.db.prepare('INSERT INTO events (at, level, name, text) VALUES (?, ?, ?, ?)').run(at, event.level, event.name, event.text).lastInsertRowid);
    if (event.level !== 'info') store.db.prepare('INSERT INTO mailbox (event_id, at, level, name, text) VALUES (?, ?, ?, ?, ?)').run(id, at, event.level, event.name, event.text);
    const insert = store.db.prepare('INSERT INTO outbox (target, event_id, at, level, name, text, held) VALUES (?, ?, ?, ?, ?, ?, ?)');
    // One row per distinct URI, even if it is a target at several levels.
    const uris = [...new Set(targets.filter((t) => reaches(t.level, event.level)).map((t) => t.uri))];
    for (const uri of uris) insert.run(uri, id, at, event.level, event.name, event.text, held ? 1 : 0);
    return { event: { id, at, level: event.level, name: event.name, text: event.text }, queued: uris.length };
  });
}

export function recentEvents(store: Store, limit = 100): RecordedEvent[] {
  return store.db.prepare('SELECT id, at, level, name, text FROM events ORDER BY id DESC LIMIT ?').all(limit) as RecordedEvent[];
}

// ---------------------------------------------------------------------------
// Mailbox. Messages are numbered 1..n, oldest first, as a person reads them.

export function mailbox(store: Store): MailMessage[] {
  return store.db.prepare('SELECT * FROM mailbox ORDER BY id').all() as MailMessage[];
}

/** Unread messages; 0 for a database not yet migrated (the console reads it directly while the daemon is down). */
export function unreadMail(store: Store): number {
  try {
    return (store.db.prepare('SELECT count(*) AS n FROM mailbox WHERE read = 0').get() as { n: number }).n;
  } catch {
    return 0;
  }
}

export function markRead(store: Store, id: number): void {
  store.db.prepare('UPDATE mailbox SET read = 1 WHERE id = ?').run(id);
}

export function deleteMail(store: Store, id: number | 'all'): number {
  return id === 'all' ? store.db.prepare('DELETE FROM mailbox').run().changes : store.db.prepare('DELETE FROM mailbox WHERE id = ?').run(id).changes;
}

// ---------------------------------------------------------------------------
// Outbox.

export function outboxTargets(store: Store): string[] {
  return (store.db.prepare('SELECT DISTINCT target FROM outbox').all() as { target: string }[]).map((r) => r.target);
}

export function pendingFor(store: Store, target: string, limit: number): OutboxRow[] {
  return store.db.prepare('SELECT * FROM outbox WHERE target = ? ORDER BY id LIMIT ?').all(target, limit) as OutboxRow[];
}

export function pendingCount(store: Store, target?: string): number {
  const row = (target === undefined ? store.db.prepare('SELECT count(*) AS n FROM outbox').get() : store.db.prepare('SELECT count(*) AS n FROM outbox WHERE target = ?').get(target)) as { n: number };
  return row.n;
}

export function outboxSummary(store: Store): { target: string; pending: number; held: number; attempts: number; last_error: string | null }[] {
  return store.db
    .prepare(
      `SELECT target, count(*) AS pending, sum(held) AS held, max(attempts) AS attempts,
              (SELECT last_error FROM outbox o2 WHERE o2.target = o.target AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_error
       FROM outbox o GROUP BY target ORDER BY target`,
    )
    .all() as { target: string; pending: number; held: number; attempts: number; last_error: string | null }[];
}

export function removeFromOutbox(store: Store, ids: number[]): void {
  if (ids.length === 0) return;
  const del = store.db.prepare('DELETE FROM outbox WHERE id = ?');
  store.tx(() => {
    for (const id of ids) del.run(id);
  });
}

export function recordFailure(store: Store, ids: number[], error: string): void {
  const update = store.db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?');
  store.tx(() => {
    for (const id of ids) update.run(error.slice(0, 500), id);
  });
}

/** Drops what is queued for a target that is no longer configured. */
export function dropTarget(store: Store, target: string): number {
  return store.db.prepare('DELETE FROM outbox WHERE target = ?').run(target).changes;
}


export interface OutboxGroup {
  name: string;
  level: EventLevel;
  count: number;
  first: string;
  last: string;
}

/** What is queued for a target from row `fromId` on (held or not), by event name: what a summary says. */
export function summariseQueued(store: Store, target: string, held: boolean, fromId = 0): { groups: OutboxGroup[]; lastId: number } {
  const groups = store.db
    .prepare('SELECT name, level, count(*) AS count, min(at) AS first, max(at) AS last FROM outbox WHERE target = ? AND held = ? AND id >= ? GROUP BY name, level ORDER BY min(id)')
    .all(target, held ? 1 : 0, fromId) as OutboxGroup[];
  const lastId = (store.db.prepare('SELECT max(id) AS id FROM outbox WHERE target = ? AND held = ? AND id >= ?').get(target, held ? 1 : 0, fromId) as { id: number | null }).id ?? 0;
  return { groups, lastId };
}

/** Removes what a summary covered. */
export function removeSummarised(store: Store, target: string, held: boolean, fromId: number, lastId: number): number {
  return store.db.prepare('DELETE FROM outbox WHERE target = ? AND held = ? AND id BETWEEN ? AND ?').run(target, held ? 1 : 0, fromId, lastId).changes;
}

/** Drops audit entries older than `before` (ISO time): the audit log's retention. */
export function pruneAudit(store: Store, before: string): number {
  return store.db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes;
}
