// A store is accepted only with exactly the schema this product writes for
// its version: the same tables with the same columns (names, types,
// constraints, no generated columns), the same indexes and foreign keys, and
// nothing else (no views, no triggers, no virtual tables). Reading a table
// of such a store runs no SQL of the file's author.
// A worker thread loads this module too (see store/shapes.ts): erasable syntax only.

import Database from 'better-sqlite3';
import { migrations } from './migrations.js';

type Db = Database.Database;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The schema of a database as lines of text, one per object, column, index column and foreign key, sorted. */
export function describeSchema(db: Db): string[] {
  const lines: string[] = [];
  const objects = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name").all() as { type: string; name: string; tbl_name: string; sql: string | null }[];
  for (const object of objects) {
    // A plain table or index, as CREATE TABLE / CREATE INDEX made it (or SQLite itself for a key or a unique column).
    const made = object.sql === null ? 'implicit' : /^CREATE (TABLE|UNIQUE INDEX|INDEX) /i.test(object.sql) ? 'created' : `other: ${object.sql.slice(0, 40)}`;
    lines.push(`${object.type} ${object.name} on ${object.tbl_name} (${made})`);
    if (object.type === 'table' && made === 'created') {
      for (const c of db.prepare(`PRAGMA table_xinfo(${quote(object.name)})`).all() as Record<string, unknown>[]) {
        lines.push(`column ${object.name}.${c.name}: ${c.type} notnull=${c.notnull} default=${c.dflt_value} pk=${c.pk} hidden=${c.hidden}`);
      }
      for (const f of db.prepare(`PRAGMA foreign_key_list(${quote(object.name)})`).all() as Record<string, unknown>[]) {
        lines.push(`foreign key ${object.name}.${f.from} -> ${f.table}.${f.to} on delete ${f.on_delete}`);
      }
    }
    if (object.type === 'index') {
      for (const c of db.prepare(`PRAGMA index_xinfo(${quote(object.name)})`).all() as Record<string, unknown>[]) {
        if (c.key) lines.push(`index column ${object.name}.${c.seqno}: ${c.name} desc=${c.desc} coll=${c.coll}`);
      }
    }
  }
  return lines.sort();
}

const expected = new Map<number, string[]>();

/** The schema this product writes at `version` (a fresh database, migrated), or undefined for a version it never wrote. */
export function productSchema(version: number): string[] | undefined {
  if (!migrations.some((m) => m.version === version)) return undefined;
  let lines = expected.get(version);
  if (!lines) {
    const db = new Database(':memory:');
    try {
      for (const migration of migrations) if (migration.version <= version) db.exec(migration.sql);
      lines = describeSchema(db);
    } finally {
      db.close();
    }
    expected.set(version, lines);
  }
  return lines;
}

/** What differs between a database's schema and the product's at its version (first few), or undefined when they are the same. */
export function schemaProblem(db: Db): string | undefined {
  const version = db.pragma('user_version', { simple: true }) as number;
  const wanted = productSchema(version);
  if (!wanted) return `schema version ${version} is not one this product writes`;
  const found = describeSchema(db);
  const foundSet = new Set(found);
  const wantedSet = new Set(wanted);
  const extra = found.filter((l) => !wantedSet.has(l));
  const missing = wanted.filter((l) => !foundSet.has(l));
  if (!extra.length && !missing.length) return undefined;
  const shown = (lines: string[]) => lines.slice(0, 3).map((l) => JSON.stringify(l.slice(0, 120))).join(', ') + (lines.length > 3 ? ` and ${lines.length - 3} more` : '');
  return [extra.length ? `not the product's: ${shown(extra)}` : '', missing.length ? `missing: ${shown(missing)}` : ''].filter(Boolean).join('; ');
}
