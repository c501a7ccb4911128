// What a repository of the store is given: the database, the store's
// transaction (a failure of SQLite itself becomes a clear error, and nested
// calls join the caller's transaction) and the sealer of secrets. Only
// store/ sees the database.

import type Database from 'better-sqlite3';
import type { Sealer } from './secrets.js';

export interface Connection {
  readonly db: Database.Database;
  tx<T>(fn: () => T): T;
  readonly secrets: Sealer;
}
