// The audit log (migration 1): who ran what, from where, and how it ended.
// Words are redacted before they get here; entries are kept for the
// retention the administrator set (daemon/logs.ts prunes) and within a bound
// of rows and bytes (the oldest go first), so that no caller can fill the disk.
//
// Requests of callers that proved nothing (migration 7) are never rows of
// their own: they are counted per minute, per peer (the kernel's uid of the
// connection, never a name the request claims) and per outcome, their words
// not kept, so a flood of them costs a counter, not a row each.

import type { Connection } from './connection.js';
import { checkedRow } from './rows.js';

export type AuditOutcome = 'ok' | 'failed' | 'bad-input' | 'refused' | 'cancelled';

export interface AuditEntry {
  id: number;
  at: string;
  user: string;
  origin: string;
  address: string | null;
  words: string;
  outcome: AuditOutcome;
  exit_status: number;
  message: string | null;
}

/** Requests of one unproven peer in one minute that ended one way. */
export interface UnprovenCount {
  /** The minute's start, ISO 8601 UTC. */
  minute: string;
  /** `uid N` as the kernel saw the peer, or `(unproven)` when it could not tell. */
  caller: string;
  outcome: AuditOutcome;
  count: number;
}

/** The most the audit log holds; past either, the oldest entries go. */
export const AUDIT_LIMITS = {
  rows: 1_000_000,
  /** Bytes of text the entries hold (words, message, user, origin, address). */
  bytes: 256 * 1024 * 1024,
  /** Rows of unproven counts (one per minute, peer and outcome: a year of one peer's two outcomes). */
  unprovenRows: 1_100_000,
  /** Counts are written together at most this often (each write is a synced transaction). */
  flushMs: 1000,
  /** Distinct counters waiting in memory before they are written whatever the time. */
  pendingCounters: 10_000,
};

/** What one entry weighs, in SQLite's own terms (the bound counts this). */
const ENTRY_BYTES_SQL = `length(CAST(words AS BLOB)) + coalesce(length(CAST(message AS BLOB)), 0) + length(CAST(user AS BLOB)) + length(CAST(origin AS BLOB)) + coalesce(length(CAST(address AS BLOB)), 0) + length(at) + length(outcome)`;
const entryBytes = (entry: Omit<AuditEntry, 'id'>) =>
  Buffer.byteLength(entry.words) + Buffer.byteLength(entry.message ?? '') + Buffer.byteLength(entry.user) + Buffer.byteLength(entry.origin) + Buffer.byteLength(entry.address ?? '') + entry.at.length + entry.outcome.length;

/** One delete of the oldest entries takes this share of the bound away, so that pruning is rare. */
const PRUNE_SHARE = 0.01;

export class AuditLog {
  /** The bounds this log keeps to (the tests give smaller ones). */
  limits = { ...AUDIT_LIMITS };
  /** Rows and bytes held now: counted once, then kept up to date by every write and prune. */
  #size: { rows: number; bytes: number } | undefined;
  /** Counts not yet written, by minute, caller and outcome. */
  readonly #pending = new Map<string, UnprovenCount>();
  #lastFlush = 0;
  #unprovenSize: { rows: number } | undefined;

  constructor(private readonly c: Connection) {}

  record(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: string }): void {
    const row = { ...entry, at: entry.at ?? new Date().toISOString() };
    const size = this.size();
    try {
      this.c.tx(() => {
        this.c.db
          .prepare(
            `INSERT INTO audit (at, user, origin, address, words, outcome, exit_status, message)
             VALUES (@at, @user, @origin, @address, @words, @outcome, @exit_status, @message)`,
          )
          .run(row);
        size.rows += 1;
        size.bytes += entryBytes(row);
        if (size.rows > this.limits.rows || size.bytes > this.limits.bytes) this.dropOldest();
      });
    } catch (error) {
      // A write SQLite refused (a full disk) leaves the counts unsure: they are counted afresh next time.
      this.#size = undefined;
      throw error;
    }
  }

  /** The newest entries first, from `since` (ISO time) on. */
  recent(options: { since?: string; limit?: number } = {}): AuditEntry[] {
    return (this.c.db.prepare('SELECT * FROM audit WHERE at >= ? ORDER BY id DESC LIMIT ?').all(options.since ?? '', options.limit ?? 100) as AuditEntry[]).map((row) => checkedRow('audit', row));
  }

  /** Drops entries and counts older than `before` (ISO time): the audit log's retention. */
  prune(before: string): number {
    this.flushUnproven();
    const pruned = this.c.tx(() => {
      const entries = this.c.db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes;
      // A minute that started before the cutoff ends within a minute of it: kept until it is wholly older.
      const counts = this.c.db.prepare('DELETE FROM audit_unproven WHERE minute < ?').run(new Date(Date.parse(before) - 60_000).toISOString()).changes;
      return entries + counts;
    });
    this.#size = undefined;
    this.#unprovenSize = undefined;
    return pruned;
  }

  /** Rows and bytes the log holds (one scan the first time, then kept). */
  size(): { rows: number; bytes: number } {
    this.#size ??= this.c.db.prepare(`SELECT count(*) AS rows, coalesce(sum(${ENTRY_BYTES_SQL}), 0) AS bytes FROM audit`).get() as { rows: number; bytes: number };
    return this.#size;
  }

  /** Deletes the oldest entries until the log is a share below its bounds. */
  private dropOldest(): void {
    const size = this.size();
    const slackRows = Math.max(1, Math.floor(this.limits.rows * PRUNE_SHARE));
    const slackBytes = Math.max(1, Math.floor(this.limits.bytes * PRUNE_SHARE));
    const excessRows = size.rows - (this.limits.rows - slackRows);
    const excessBytes = size.bytes - (this.limits.bytes - slackBytes);
    // The oldest rows, in id order, until both excesses are covered: walked by the primary key, never a full scan.
    let rows = 0;
    let bytes = 0;
    let lastId = -1;
    for (const row of this.c.db.prepare(`SELECT id, ${ENTRY_BYTES_SQL} AS bytes FROM audit ORDER BY id`).iterate() as Iterable<{ id: number; bytes: number }>) {
      if (rows >= excessRows && bytes >= excessBytes) break;
      rows += 1;
      bytes += row.bytes;
      lastId = row.id;
    }
    if (lastId < 0) return;
    this.c.db.prepare('DELETE FROM audit WHERE id <= ?').run(lastId);
    size.rows -= rows;
    size.bytes -= bytes;
  }

  /**
   * Counts one request of a caller that proved nothing. Counts wait in
   * memory and are written together, at most once every `flushMs`, and when
   * read; `flushUnproven()` writes what waits (the daemon does on stopping).
   */
  countUnproven(caller: string, outcome: AuditOutcome, at = new Date()): void {
    const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
    const key = `${minute}\u0000${caller}\u0000${outcome}`;
    const counter = this.#pending.get(key);
    if (counter) counter.count += 1;
    else this.#pending.set(key, { minute, caller, outcome, count: 1 });
    if (this.#pending.size >= this.limits.pendingCounters || at.getTime() - this.#lastFlush >= this.limits.flushMs) this.flushUnproven(at);
  }

  /** Writes the counts waiting in memory, in one transaction; keeps the table within its bound of rows. */
  flushUnproven(now = new Date()): void {
    this.#lastFlush = now.getTime();
    if (this.#pending.size === 0) return;
    const counters = [...this.#pending.values()];
    this.#pending.clear();
    this.c.tx(() => {
      const add = this.c.db.prepare(
        `INSERT INTO audit_unproven (minute, caller, outcome, count) VALUES (@minute, @caller, @outcome, @count)
         ON CONFLICT (minute, caller, outcome) DO UPDATE SET count = count + excluded.count RETURNING count`,
      );
      const size = this.unprovenRows();
      // A counter that comes back with just its own count was a new row.
      for (const counter of counters) if ((add.get(counter) as { count: number }).count === counter.count) size.rows += 1;
      if (size.rows > this.limits.unprovenRows) {
        size.rows -= this.c.db
          .prepare('DELETE FROM audit_unproven WHERE rowid IN (SELECT rowid FROM audit_unproven ORDER BY minute LIMIT ?)')
          .run(size.rows - this.limits.unprovenRows + Math.max(1, Math.floor(this.limits.unprovenRows * PRUNE_SHARE))).changes;
      }
    });
  }

  /** Rows of unproven counts held now: counted once, then kept up to date. */
  private unprovenRows(): { rows: number } {
    this.#unprovenSize ??= this.c.db.prepare('SELECT count(*) AS rows FROM audit_unproven').get() as { rows: number };
    return this.#unprovenSize;
  }

  /** Counts of unproven requests, the newest minute first, from `since` (ISO time) on. */
  unproven(options: { since?: string; limit?: number } = {}): UnprovenCount[] {
    this.flushUnproven();
    return this.c.db
      .prepare('SELECT minute, caller, outcome, count FROM audit_unproven WHERE minute >= ? ORDER BY minute DESC, caller, outcome LIMIT ?')
      .all(options.since ? new Date(Math.floor(Date.parse(options.since) / 60_000) * 60_000).toISOString() : '', options.limit ?? 100) as UnprovenCount[];
  }
}
