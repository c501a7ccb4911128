// The worker thread that looks at a store from outside (a restored backup):
// off the daemon's event loop, so that whatever the file holds cannot stall
// it, and ended by store/staged.ts when it takes too long. It opens the file
// read-only, accepts it only with the product's exact schema
// (store/schema-check.ts), and reads it row by row through the product's own
// queries, each row checked against its table's shape (store/rows.ts).
// Under the test runner it runs from the TypeScript sources: erasable syntax only (store/shapes.ts).

import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { rowKey, rowProblem, TABLE_SHAPES, type TableName } from './rows.js';
import { schemaProblem } from './schema-check.js';

export type StagedTask = { task: 'check'; file: string } | { task: 'read'; file: string; skip: readonly string[] };

export type StagedAnswer =
  | { ok: true; version: number; integrity: string; rows?: Record<string, Record<string, unknown>[]> }
  | { ok: false; problem: string; newer?: boolean; latest?: number };

function examine(request: StagedTask, latest: number): StagedAnswer {
  const db = new Database(request.file, { readonly: true, fileMustExist: true });
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > latest) return { ok: false, newer: true, latest, problem: `the backup's store has schema version ${version}, newer than this product's ${latest}: restore it with a newer product` };
    const integrity = String(db.pragma('integrity_check', { simple: true }));
    if (integrity !== 'ok') return { ok: false, problem: `the backup's store is damaged: ${integrity}` };
    const schema = schemaProblem(db);
    if (schema) return { ok: false, problem: `the backup's store does not have this product's schema (version ${version}): ${schema}` };
    if (request.task === 'check') return { ok: true, version, integrity };
    if (version !== latest) return { ok: false, problem: `the backup's store has schema version ${version}, not this product's ${latest}: it is migrated before its rows are copied` };
    const rows: Record<string, Record<string, unknown>[]> = {};
    for (const table of Object.keys(TABLE_SHAPES) as TableName[]) {
      if (request.skip.includes(table)) continue;
      const columns = Object.keys(TABLE_SHAPES[table].columns).map((c) => `"${c}"`).join(', ');
      const read: Record<string, unknown>[] = [];
      for (const row of db.prepare(`SELECT ${columns} FROM "${table}" ORDER BY rowid`).iterate() as Iterable<Record<string, unknown>>) {
        const problem = rowProblem(table, row);
        if (problem) return { ok: false, problem: `the backup's store holds a row this product does not write: ${rowKey(table, row)}: ${problem}` };
        read.push(row);
      }
      rows[table] = read;
    }
    return { ok: true, version, integrity, rows };
  } finally {
    db.close();
  }
}

if (parentPort) {
  const { request, latest } = workerData as { request: StagedTask; latest: number };
  let answer: StagedAnswer;
  try {
    answer = examine(request, latest);
  } catch (error) {
    answer = { ok: false, problem: `the backup's store cannot be read: ${(error as Error).message}` };
  }
  parentPort.postMessage(answer);
}
