// Opening a node's config store at daemon start, refusing what must not be
// served: a damaged store (PRAGMA quick_check), a file that is not a
// database (truncated), or a missing or empty store where a node existed
// (its store key or certificates are there). Each refusal says how to
// restore; platformd never starts afresh over an existing node, silently.

import Database from 'better-sqlite3';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sealedColumnsIn, Store, storeKeyFile, type StoreProblem } from './db.js';
import { SEALED_SETTINGS } from './settings.js';
import { SEALED_PREFIX } from './secrets.js';
import type { Paths } from '../core/paths.js';

/** Why the store cannot be served, in words for the person at the console or in the journal. */
export class StoreRefused extends Error {}

/** Files that exist only once a node was set up: if any is there, an empty store means a lost one. */
function nodeEvidence(paths: Paths): string[] {
  const marks = [storeKeyFile(paths.database), join(paths.certs, 'web', 'fullchain.pem'), join(paths.certs, 'cluster', 'node.key')];
  return marks.filter((file) => existsSync(file));
}

function howToRestore(paths: Paths): string {
  return [
    'To restore: stop platformd, copy config.db and store.key from the last backup of this node into',
    `  ${paths.home}/ (delete config.db-wal and config.db-shm there first), then start platformd.`,
    `To set the node up afresh instead (its configuration is lost): move ${paths.home}/config.db*, store.key`,
    `  and certs/ aside, then start platformd.`,
  ].join('\n');
}

const sizeOf = (file: string) => (existsSync(file) ? statSync(file).size : -1);

/** What a first look at the file finds: its schema version and whether it holds sealed values. */
function inspect(file: string): { version: number; sealedValues: number; check: string } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const check = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
    let sealedValues = 0;
    for (const { table, column } of sealedColumnsIn(db)) {
      sealedValues += (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} LIKE ?`).get(`${SEALED_PREFIX}%`) as { n: number }).n;
    }
    if (tables.has('settings')) {
      for (const key of SEALED_SETTINGS) sealedValues += (db.prepare('SELECT count(*) AS n FROM settings WHERE key = ? AND value LIKE ?').get(key, `"${SEALED_PREFIX}%`) as { n: number }).n;
    }
    return { version, sealedValues, check };
  } finally {
    db.close();
  }
}

/**
 * Removes the triggers and views of a store: the product writes none, and
 * they would run SQL of their author on the node's own reads and writes.
 * Returns what was removed ("trigger wipe").
 */
function removeForeignCode(file: string): string[] {
  const db = new Database(file, { fileMustExist: true });
  try {
    const objects = db.prepare("SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'view')").all() as { type: 'trigger' | 'view'; name: string }[];
    db.transaction(() => {
      for (const { type, name } of objects) db.exec(`DROP ${type.toUpperCase()} IF EXISTS "${name.replace(/"/g, '""')}"`);
    })();
    return objects.map(({ type, name }) => `${type} ${JSON.stringify(name.slice(0, 80))}`);
  } finally {
    db.close();
  }
}

const isSqliteDamage = (error: unknown) => ['SQLITE_CORRUPT', 'SQLITE_NOTADB'].includes(String((error as { code?: unknown })?.code));

/**
 * The node's store, checked and migrated, with its files readable by root
 * only; or StoreRefused. A store SQLite can serve whose schema or rows do
 * not fit what the product writes is opened all the same, with `invalid`
 * saying what: the node starts in its recovery state (daemon/recovery.ts),
 * from which a backup can be restored. Triggers and views, which the
 * product never writes, are removed first (`removed` names them).
 */
export function openNodeStore(paths: Paths): { store: Store; invalid?: StoreProblem; removed: string[] } {
  const file = paths.database;
  const refuse = (problem: string) => new StoreRefused(`the config store ${file} ${problem}.\n${howToRestore(paths)}`);
  const evidence = nodeEvidence(paths);
  const size = sizeOf(file);
  if (size <= 0 && evidence.length > 0) {
    throw refuse(`is ${size < 0 ? 'missing' : 'empty'}, but this node was set up before (${evidence.join(', ')} exist${evidence.length === 1 ? 's' : ''}); platformd does not start afresh over it`);
  }
  if (size > 0) {
    let found;
    try {
      found = inspect(file);
    } catch (error) {
      if (isSqliteDamage(error)) throw refuse(`is damaged or truncated (${(error as Error).message})`);
      throw error;
    }
    if (found.check !== 'ok') throw refuse(`is damaged (PRAGMA quick_check: ${found.check})`);
    if (found.version === 0 && evidence.length > 0) throw refuse(`holds no configuration, but this node was set up before (${evidence.join(', ')})`);
    if (found.sealedValues > 0 && !existsSync(storeKeyFile(file))) throw refuse(`holds ${found.sealedValues} sealed secrets, but their key ${storeKeyFile(file)} is missing`);
  }
  const removed = size > 0 ? removeForeignCode(file) : [];
  let store: Store;
  try {
    store = Store.open(file);
  } catch (error) {
    if (isSqliteDamage(error)) throw refuse(`is damaged (${(error as Error).message})`);
    throw error;
  }
  // Older versions made them 0644; the umask keeps new ones 0600.
  for (const part of [file, `${file}-wal`, `${file}-shm`, storeKeyFile(file)]) {
    if (existsSync(part)) chmodSync(part, part.endsWith('store.key') ? 0o400 : 0o600);
  }
  let invalid: StoreProblem | undefined;
  try {
    invalid = store.firstProblem();
  } catch (error) {
    invalid = { table: 'store', problem: (error as Error).message };
  }
  return { store, invalid, removed };
}
