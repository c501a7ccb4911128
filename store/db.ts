// The config store: one SQLite database per node (WAL), migrated at open.
// Every change goes through `tx`, so a crash mid-command leaves the
// previous state, and a write that SQLite refuses (disk full, I/O error)
// is rolled back and answered as an error: the connection is never left
// inside a transaction that later writes would join and lose. A commit is
// synced to disk before it is acknowledged (synchronous = FULL).

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { failure, PlatformError } from '../core/errors.js';
import { AuditLog } from './audit.js';
import type { Connection } from './connection.js';
import { Events, Mailbox, Outbox } from './events.js';
import { Inventory } from './inventory.js';
import { BackupLocations, NotifyTargets } from './locations.js';
import { migrations as allMigrations, type Migration } from './migrations.js';
import { Schedule } from './schedule.js';
import { isSealed, Sealer } from './secrets.js';
import { KEPT_SETTINGS, Settings } from './settings.js';
import { checkedRow, rowKey, rowProblem, TABLE_SHAPES, type TableName } from './rows.js';
import { schemaProblem } from './schema-check.js';
import { readStagedRows } from './staged.js';
import { Users } from './users.js';
import { WebWeights } from './weights.js';

/** The store's key file: beside the database, readable by root only (store/secrets.ts). */
export const storeKeyFile = (database: string) => join(dirname(database), 'store.key');

/** SQLite result codes that mean the write did not reach the disk. */
const isFull = (code: string) => code === 'SQLITE_FULL';
const isIoError = (code: string) => code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN';
const isDamage = (code: string) => code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB';

/**
 * A SQLite failure as an error a person can act on (exit 1), or undefined
 * for anything else. The home is named so the message says where space is missing.
 */
export function storeFailure(error: unknown, home?: string): PlatformError | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const where = home ? ` (${home})` : '';
  const detail = (error as Error).message;
  if (isFull(code)) return failure('store-full', `the data folder is full${where}: nothing was changed; free some space (for example old files in media/) and try again [${detail}]`);
  if (isIoError(code)) return failure('store-io-error', `the config store could not be written${where}: nothing was changed [${detail}]`);
  if (isDamage(code)) return failure('store-damaged', `the config store is damaged${where}: restore config.db and store.key from a backup [${detail}]`);
  return failure('store-error', `the config store refused the change: ${detail}`);
}

/**
 * Where the store keeps secrets: every value of these columns is sealed
 * (store/secrets.ts), and so is every setting SETTINGS marks sealed. A new
 * secret column is added here, and its repository unseals with its `secrets`.
 */
export const SEALED_COLUMNS: readonly { table: string; column: string }[] = [
  { table: 'backup_locations', column: 'uri' },
  { table: 'backup_locations', column: 'alternate' },
  { table: 'notify_targets', column: 'uri' },
];
/** The sealed columns a database holds: an older version's lacks those added since (backup_locations.alternate, version 8). */
export function sealedColumnsIn(db: Database.Database): { table: string; column: string }[] {
  const columnsOf = (table: string) => (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name);
  return SEALED_COLUMNS.filter(({ table, column }) => columnsOf(table).includes(column));
}
/** Tables a restore leaves as they are: the node's own audit trail (its entries and its counts of unproven requests). */
const KEPT_TABLES: ReadonlySet<string> = new Set(['audit', 'audit_unproven']);

export interface StoreOptions {
  /** The key of sealed secrets; default store.key beside the database (in memory for ":memory:"). */
  keyFile?: string;
}

// Commands and subsystems reach the store through their Context and Runtime;
// core declares those without knowing the store, and the store adds itself.
declare module '../core/context.js' {
  interface Context {
    store: Store;
  }
}
declare module '../core/runtime.js' {
  interface Runtime {
    store: Store;
    /** Set while the store fails its checks (store/open-node.ts): platformd runs recovery commands only (daemon/recovery.ts). */
    storeInvalid?: StoreProblem;
  }
}

/** What of a store does not fit what the product writes: the table (or "schema") and the problem. */
export interface StoreProblem {
  table: string;
  problem: string;
}

export class Store {
  readonly #db: Database.Database;
  /** Seals and opens the secrets kept in the store (store/secrets.ts); the repositories of sealed values hold it too. */
  readonly #secrets: Sealer;

  /** The node's settings, one typed key each (store/settings.ts). */
  readonly settings: Settings;
  /** The nodes of the cluster. */
  readonly inventory: Inventory;
  /** Console users and the command prefixes granted to them. */
  readonly users: Users;
  /** Weights of the web front end's backends. */
  readonly weights: WebWeights;
  /** Backup locations (URIs sealed). */
  readonly locations: BackupLocations;
  /** Notification targets by level (URIs sealed). */
  readonly notifyTargets: NotifyTargets;
  readonly audit: AuditLog;
  readonly events: Events;
  readonly mailbox: Mailbox;
  readonly outbox: Outbox;
  /** Scheduled jobs and their runs. */
  readonly schedule: Schedule;

  /** False for a store opened without its key (openReadOnly): its sealed values are checked in their sealed form only. */
  readonly #holdsKey: boolean;

  private constructor(db: Database.Database, secrets: Sealer, holdsKey = true) {
    this.#db = db;
    this.#secrets = secrets;
    this.#holdsKey = holdsKey;
    const connection: Connection = { db, secrets, tx: (fn) => this.tx(fn) };
    this.settings = new Settings(connection);
    this.inventory = new Inventory(connection, this.settings);
    this.users = new Users(connection);
    this.weights = new WebWeights(connection);
    this.locations = new BackupLocations(connection);
    this.notifyTargets = new NotifyTargets(connection);
    this.audit = new AuditLog(connection);
    this.events = new Events(connection);
    this.mailbox = new Mailbox(connection);
    this.outbox = new Outbox(connection);
    this.schedule = new Schedule(connection);
  }

  /** Opens (creating if needed) and migrates to the latest schema. */
  static open(file: string, migrations: readonly Migration[] = allMigrations, options: StoreOptions = {}): Store {
    const memory = file === ':memory:';
    if (!memory) mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      // An acknowledged write is on disk, not only in the page cache.
      db.pragma('synchronous = FULL');
      // Deleted rows (old sealed values, removed locations) are overwritten, not left in free pages.
      db.pragma('secure_delete = ON');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      const store = new Store(db, memory ? Sealer.ephemeral() : Sealer.forKeyFile(options.keyFile ?? storeKeyFile(file)));
      store.migrate(migrations);
      store.sealClearSecrets();
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * A first look at a database file without opening it as a store: its
   * schema version and SQLite's full integrity check ("ok" or the first
   * problem). Throws what SQLite says of a file that is not a database.
   */
  static examine(file: string): { version: number; integrity: string } {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return { version: db.pragma('user_version', { simple: true }) as number, integrity: String(db.pragma('integrity_check', { simple: true })) };
    } finally {
      db.close();
    }
  }

  /** Opens an existing database for reading only (no migration), e.g. while the daemon is down; secrets stay sealed. */
  static openReadOnly(file: string): Store {
    return new Store(new Database(file, { readonly: true, fileMustExist: true }), Sealer.ephemeral(), false);
  }

  /** `PRAGMA quick_check`: "ok", or what SQLite found wrong (first lines). */
  quickCheck(): string {
    const rows = this.#db.pragma('quick_check(5)') as { quick_check: string }[];
    return rows.map((r) => r.quick_check).join('; ');
  }

  /** Ends a transaction left open by a failed statement, so the next write starts clean. True when one was open. */
  settle(): boolean {
    if (!this.#db.inTransaction) return false;
    try {
      this.#db.exec('ROLLBACK');
    } catch {
      // SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR do)
    }
    return true;
  }

  /**
   * Seals what an older version kept in clear (once; sealed values are left
   * alone), then checkpoints so that no clear copy stays in the WAL either.
   */
  private sealClearSecrets(): void {
    const sealed = this.tx(() => this.changeSecrets((stored) => (isSealed(stored) ? stored : this.#secrets.seal(stored))));
    if (sealed > 0) this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * Re-seals under this store's key the secrets of rows copied from another
   * store (a restored backup), sealed there with `origin`. Runs inside the
   * caller's transaction, so a value that does not open undoes the copy.
   */
  private resealFrom(origin: Sealer): void {
    this.changeSecrets((stored) => this.#secrets.seal(origin.unseal(stored)));
  }

  /** Rewrites every secret column and setting through `change`; returns how many changed. */
  private changeSecrets(change: (stored: string) => string): number {
    const tables = new Set((this.#db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
    let changed = 0;
    for (const { table, column } of sealedColumnsIn(this.#db)) {
      const rows = this.#db.prepare(`SELECT rowid AS id, ${column} AS value FROM ${table}`).all() as { id: number; value: unknown }[];
      const update = this.#db.prepare(`UPDATE ${table} SET ${column} = ? WHERE rowid = ?`);
      for (const row of rows) {
        if (typeof row.value !== 'string') continue; // not a URI: the row checks report it
        const next = change(row.value);
        if (next !== row.value) changed += update.run(next, row.id).changes;
      }
    }
    if (tables.has('settings')) changed += this.settings.changeSealed(change);
    return changed;
  }

  get schemaVersion(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(migrations: readonly Migration[]): void {
    for (const migration of migrations) {
      if (migration.version <= this.schemaVersion) continue;
      this.#db.transaction(() => {
        this.#db.exec(migration.sql);
        this.#db.pragma(`user_version = ${migration.version}`);
      })();
    }
  }

  /**
   * Runs `fn` in one transaction: all of its changes or none. A failure of
   * SQLite itself (disk full, I/O error) rolls back and becomes a clear error.
   */
  tx<T>(fn: () => T): T {
    const outermost = !this.#db.inTransaction;
    try {
      return this.#db.transaction(fn)();
    } catch (error) {
      if (outermost) this.settle();
      throw storeFailure(error) ?? error;
    }
  }

  /**
   * SQLite's online backup: a consistent copy of the database in `file`
   * while writers carry on (what a backup archive holds).
   */
  async copyTo(file: string): Promise<void> {
    await this.#db.backup(file);
  }

  /**
   * Puts the contents of another store file (a restored backup, already
   * migrated) in place of this one's, in one transaction: every table but
   * the kept ones (the audit log) and every setting but the kept ones (what
   * describes this running daemon). The rows are read by a worker thread
   * within a time bound, from a file with exactly the product's schema,
   * each checked against its table's shape (store/staged.ts); they are
   * written here by the product's own statements. Secrets, sealed with the
   * key beside that file, are checked in clear and resealed with this
   * store's key; a row that does not fit, or a value that does not open,
   * undoes the whole copy.
   */
  async replaceContentsFrom(file: string): Promise<void> {
    const restored = await readStagedRows(file, [...KEPT_TABLES]);
    const origin = Sealer.forKeyFile(storeKeyFile(file));
    const unseal = (stored: string) => origin.unseal(stored);
    const tables = (Object.keys(TABLE_SHAPES) as TableName[]).filter((table) => !KEPT_TABLES.has(table));
    // Sealed values are checked in clear here, where the backup's key is.
    for (const table of tables) for (const row of restored[table] ?? []) checkedRow(table, row, unseal);
    const db = this.#db;
    const kept = KEPT_SETTINGS.map((key) => [key, this.settings.stored(key)] as const);
    this.tx(() => {
      db.pragma('defer_foreign_keys = ON');
      for (const table of tables) {
        const columns = Object.keys(TABLE_SHAPES[table].columns);
        db.prepare(`DELETE FROM "${table}"`).run();
        const insert = db.prepare(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
        for (const row of restored[table] ?? []) insert.run(Object.fromEntries(columns.map((c) => [c, row[c]])));
      }
      this.settings.restore(kept);
      this.resealFrom(origin);
    });
  }

  /**
   * The first thing of this store that does not fit what the product
   * writes: its schema, then every row of its configuration tables (logs
   * and queues are checked as they are read). Undefined when all fit.
   */
  firstProblem(): StoreProblem | undefined {
    const schema = schemaProblem(this.#db);
    if (schema) return { table: 'schema', problem: schema };
    const unseal = this.#holdsKey ? (stored: string) => this.#secrets.unseal(stored) : undefined;
    for (const table of Object.keys(TABLE_SHAPES) as TableName[]) {
      if (!TABLE_SHAPES[table].checkedAtStart) continue;
      const columns = Object.keys(TABLE_SHAPES[table].columns).map((c) => `"${c}"`).join(', ');
      for (const row of this.#db.prepare(`SELECT ${columns} FROM "${table}"`).iterate() as Iterable<Record<string, unknown>>) {
        const problem = rowProblem(table, row, unseal);
        if (problem) return { table, problem: `${rowKey(table, row)}: ${problem}` };
      }
    }
    return undefined;
  }

  /** Closes the store as one self-contained file (WAL folded in, rollback journal), ready to be copied or attached. */
  closeAsSingleFile(): void {
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.pragma('journal_mode = DELETE');
    this.#db.close();
  }

  close(): void {
    this.#db.close();
  }
}
