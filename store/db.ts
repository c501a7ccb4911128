// The config store: one SQLite database per node (WAL), migrated at open.
// Every change goes through `tx`, so a crash mid-command leaves the
// previous state.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations as allMigrations, type Migration } from './migrations.js';

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

export class Store {
  readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens (creating if needed) and migrates to the latest schema. */
  static open(file: string, migrations: readonly Migration[] = allMigrations): Store {
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const store = new Store(db);
    store.migrate(migrations);
    return store;
  }

  /** Opens an existing database for reading only (no migration), e.g. while the daemon is down. */
  static openReadOnly(file: string): Store {
    return new Store(new Database(file, { readonly: true, fileMustExist: true }));
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(migrations: readonly Migration[]): void {
    for (const migration of migrations) {
      if (migration.version <= this.schemaVersion) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db.pragma(`user_version = ${migration.version}`);
      })();
    }
  }

  /** Runs `fn` in one transaction: all of its changes or none. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  get<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  set(key: string, value: unknown): void {
    if (value === undefined) {
      this.db.prepare('DELETE FROM settings WHERE key = ?').run(key);
      return;
    }
    this.db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, JSON.stringify(value));
  }

  audit(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: string }): void {
    this.db
      .prepare(
        `INSERT INTO audit (at, user, origin, address, words, outcome, exit_status, message)
         VALUES (@at, @user, @origin, @address, @words, @outcome, @exit_status, @message)`,
      )
      .run({ ...entry, at: entry.at ?? new Date().toISOString() });
  }

  auditLog(options: { since?: string; limit?: number } = {}): AuditEntry[] {
    return this.db
      .prepare('SELECT * FROM audit WHERE at >= ? ORDER BY id DESC LIMIT ?')
      .all(options.since ?? '', options.limit ?? 100) as AuditEntry[];
  }

  close(): void {
    this.db.close();
  }
}
