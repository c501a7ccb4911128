// A look at a store file that is not the node's own (a restored backup),
// done by a worker thread (store/staged-worker.ts) within a time bound: the
// worker is ended when it takes longer, and the store refused.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { latestVersion } from './migrations.js';
import type { StagedAnswer, StagedTask } from './staged-worker.js';

/** How long a look at a staged store may take: SQLite's integrity check reads every page of a large store. */
export const STAGED_STORE_TIMEOUT_MS = 10 * 60_000;

/** Why a staged store is refused; `newer` when only a newer product could take it. */
export class StagedStoreError extends Error {
  readonly newer: boolean;
  constructor(message: string, newer = false) {
    super(message);
    this.newer = newer;
  }
}

/**
 * Where the worker's code is. The build bundles it as dist/store-worker.js
 * beside platformd.js (scripts/build.mjs), whichever chunk this code ends up
 * in; a source checkout (the test runner) runs store/staged-worker.ts, its
 * `.js` imports resolved to the `.ts` files beside them.
 */
function workerEntry(): { url: URL; fromSource: boolean } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return { url: pathToFileURL(join(dirname(here), 'staged-worker.ts')), fromSource: true };
  const bundled = [dirname(here), join(dirname(here), '..')].map((dir) => join(dir, 'store-worker.js')).find((file) => existsSync(file));
  if (!bundled) throw new Error('store-worker.js is missing beside platformd: reinstall the product');
  return { url: pathToFileURL(bundled), fromSource: false };
}

/** Resolves a source checkout's `./x.js` import to `./x.ts` (Node strips the types). */
const SOURCE_BOOT = `
const { registerHooks } = require('node:module');
registerHooks({ resolve(specifier, context, next) {
  try { return next(specifier, context); } catch (error) {
    if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(specifier.slice(0, -3) + '.ts', context);
    throw error;
  }
} });
import(require('node:worker_threads').workerData.entry);
`;

async function inWorker(request: StagedTask, latest: number, timeoutMs: number): Promise<Extract<StagedAnswer, { ok: true }>> {
  const entry = workerEntry();
  const workerData = { request, latest, entry: entry.url.href };
  const worker = entry.fromSource ? new Worker(SOURCE_BOOT, { eval: true, workerData }) : new Worker(entry.url, { workerData });
  const answer = await new Promise<StagedAnswer>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, problem: `the backup's store could not be read within ${Math.round(timeoutMs / 1000)} s: refused` }), timeoutMs);
    const settle = (value: StagedAnswer) => {
      clearTimeout(timer);
      resolve(value);
    };
    worker.once('message', (message: StagedAnswer) => settle(message));
    worker.once('error', (error: Error) => settle({ ok: false, problem: `the backup's store cannot be read: ${error.message}` }));
    worker.once('exit', (code) => settle({ ok: false, problem: `the backup's store cannot be read: its reader stopped (exit ${code})` }));
  });
  await worker.terminate();
  if (!answer.ok) throw new StagedStoreError(answer.problem, answer.newer);
  return answer;
}

/**
 * Checks a staged store: a real SQLite database, intact, of a schema
 * version this product knows and with exactly that version's schema.
 * Returns its version; throws StagedStoreError.
 */
export async function checkStagedStore(file: string, latest = latestVersion, timeoutMs = STAGED_STORE_TIMEOUT_MS): Promise<number> {
  return (await inWorker({ task: 'check', file }, latest, timeoutMs)).version;
}

/**
 * Every row of a staged store (already migrated to this product's schema)
 * but the tables in `skip`, each checked against its table's shape; sealed
 * values are still sealed. Throws StagedStoreError.
 */
export async function readStagedRows(file: string, skip: readonly string[], timeoutMs = STAGED_STORE_TIMEOUT_MS): Promise<Record<string, Record<string, unknown>[]>> {
  return (await inWorker({ task: 'read', file, skip }, latestVersion, timeoutMs)).rows ?? {};
}
