// The node's events, the local mailbox of its warnings and the outbox of
// notifications not yet delivered: typed repositories over migration 6.
// Raising an event is one transaction (event + mailbox + outbox rows), so a
// crash never leaves an event that was recorded but not queued.

import type { Connection } from './connection.js';
import { checkedRow } from './rows.js';

import { EVENT_LEVELS, type EventLevel } from './shapes.js';

export { EVENT_LEVELS, type EventLevel };
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

export interface OutboxGroup {
  name: string;
  level: EventLevel;
  count: number;
  first: string;
  last: string;
}

export class Events {
  constructor(private readonly c: Connection) {}

  /** Records an event and queues it: the mailbox for warn/error, the outbox for every target whose level it reaches. */
  record(event: { level: EventLevel; name: string; text: string; at?: string }, targets: { level: EventLevel; uri: string }[], held: boolean): { event: RecordedEvent; queued: number } {
    const db = this.c.db;
    return this.c.tx(() => {
      const at = event.at ?? new Date().toISOString();
      const id = Number(db.prepare('INSERT INTO events (at, level, name, text) VALUES (?, ?, ?, ?)').run(at, event.level, event.name, event.text).lastInsertRowid);
      if (event.level !== 'info') db.prepare('INSERT INTO mailbox (event_id, at, level, name, text) VALUES (?, ?, ?, ?, ?)').run(id, at, event.level, event.name, event.text);
      const insert = db.prepare('INSERT INTO outbox (target, event_id, at, level, name, text, held) VALUES (?, ?, ?, ?, ?, ?, ?)');
      // One row per distinct URI, even if it is a target at several levels.
      const uris = [...new Set(targets.filter((t) => reaches(t.level, event.level)).map((t) => t.uri))];
      for (const uri of uris) insert.run(uri, id, at, event.level, event.name, event.text, held ? 1 : 0);
      return { event: { id, at, level: event.level, name: event.name, text: event.text }, queued: uris.length };
    });
  }

  recent(limit = 100): RecordedEvent[] {
    return (this.c.db.prepare('SELECT id, at, level, name, text FROM events ORDER BY id DESC LIMIT ?').all(limit) as RecordedEvent[]).map((row) => checkedRow('events', row));
  }
}

/** The local mailbox. Messages are numbered 1..n, oldest first, as a person reads them. */
export class Mailbox {
  constructor(private readonly c: Connection) {}

  list(): MailMessage[] {
    return (this.c.db.prepare('SELECT * FROM mailbox ORDER BY id').all() as MailMessage[]).map((row) => checkedRow('mailbox', row));
  }

  /** Unread messages; 0 for a database not yet migrated (the console reads it directly while the daemon is down). */
  unread(): number {
    try {
      return (this.c.db.prepare('SELECT count(*) AS n FROM mailbox WHERE read = 0').get() as { n: number }).n;
    } catch {
      return 0;
    }
  }

  markRead(id: number): void {
    this.c.tx(() => this.c.db.prepare('UPDATE mailbox SET read = 1 WHERE id = ?').run(id));
  }

  delete(id: number | 'all'): number {
    return this.c.tx(() => (id === 'all' ? this.c.db.prepare('DELETE FROM mailbox').run().changes : this.c.db.prepare('DELETE FROM mailbox WHERE id = ?').run(id).changes));
  }
}

/** Notifications not yet delivered, by target. */
export class Outbox {
  constructor(private readonly c: Connection) {}

  targets(): string[] {
    return (this.c.db.prepare('SELECT DISTINCT target FROM outbox').all() as { target: string }[]).map((r) => r.target);
  }

  pendingFor(target: string, limit: number): OutboxRow[] {
    return (this.c.db.prepare('SELECT * FROM outbox WHERE target = ? ORDER BY id LIMIT ?').all(target, limit) as OutboxRow[]).map((row) => checkedRow('outbox', row));
  }

  pendingCount(target?: string): number {
    const row = (target === undefined ? this.c.db.prepare('SELECT count(*) AS n FROM outbox').get() : this.c.db.prepare('SELECT count(*) AS n FROM outbox WHERE target = ?').get(target)) as { n: number };
    return row.n;
  }

  summary(): { target: string; pending: number; held: number; attempts: number; last_error: string | null }[] {
    return this.c.db
      .prepare(
        `SELECT target, count(*) AS pending, sum(held) AS held, max(attempts) AS attempts,
                (SELECT last_error FROM outbox o2 WHERE o2.target = o.target AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_error
         FROM outbox o GROUP BY target ORDER BY target`,
      )
      .all() as { target: string; pending: number; held: number; attempts: number; last_error: string | null }[];
  }

  remove(ids: number[]): void {
    if (ids.length === 0) return;
    const del = this.c.db.prepare('DELETE FROM outbox WHERE id = ?');
    this.c.tx(() => {
      for (const id of ids) del.run(id);
    });
  }

  recordFailure(ids: number[], error: string): void {
    const update = this.c.db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?');
    this.c.tx(() => {
      for (const id of ids) update.run(error.slice(0, 500), id);
    });
  }

  /** Drops what is queued for a target that is no longer configured. */
  dropTarget(target: string): number {
    return this.c.tx(() => this.c.db.prepare('DELETE FROM outbox WHERE target = ?').run(target).changes);
  }

  /** What is queued for a target from row `fromId` on (held or not), by event name: what a summary says. */
  summariseQueued(target: string, held: boolean, fromId = 0): { groups: OutboxGroup[]; lastId: number } {
    const groups = this.c.db
      .prepare('SELECT name, level, count(*) AS count, min(at) AS first, max(at) AS last FROM outbox WHERE target = ? AND held = ? AND id >= ? GROUP BY name, level ORDER BY min(id)')
      .all(target, held ? 1 : 0, fromId) as OutboxGroup[];
    const lastId = (this.c.db.prepare('SELECT max(id) AS id FROM outbox WHERE target = ? AND held = ? AND id >= ?').get(target, held ? 1 : 0, fromId) as { id: number | null }).id ?? 0;
    return { groups, lastId };
  }

  /** Removes what a summary covered. */
  removeSummarised(target: string, held: boolean, fromId: number, lastId: number): number {
    return this.c.tx(() => this.c.db.prepare('DELETE FROM outbox WHERE target = ? AND held = ? AND id BETWEEN ? AND ?').run(target, held ? 1 : 0, fromId, lastId).changes);
  }
}
