// The audit log (migration 1): who ran what, from where, and how it ended.
// Words are redacted before they get here; entries are kept for the
// retention the administrator set (daemon/logs.ts prunes).

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

export class AuditLog {
  constructor(private readonly c: Connection) {}

  record(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: string }): void {
    this.c.tx(() =>
      this.c.db
        .prepare(
          `INSERT INTO audit (at, user, origin, address, words, outcome, exit_status, message)
           VALUES (@at, @user, @origin, @address, @words, @outcome, @exit_status, @message)`,
        )
        .run({ ...entry, at: entry.at ?? new Date().toISOString() }),
    );
  }

  /** The newest entries first, from `since` (ISO time) on. */
  recent(options: { since?: string; limit?: number } = {}): AuditEntry[] {
    return (this.c.db.prepare('SELECT * FROM audit WHERE at >= ? ORDER BY id DESC LIMIT ?').all(options.since ?? '', options.limit ?? 100) as AuditEntry[]).map((row) => checkedRow('audit', row));
  }

  /** Drops entries older than `before` (ISO time): the audit log's retention. */
  prune(before: string): number {
    return this.c.tx(() => this.c.db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes);
  }
}
