// Putting a restored backup in place (`swapIn`). A restore changes the
// node's file trees and its store together or not at all, whatever moment
// the daemon dies at. Before the first tree moves, a
// journal under run/ names the restore and the trees it moves; each old tree
// is kept aside (run/restore-aside/) until the store's transaction, which
// also records the restore's id (setting `backup.lastRestore`), has
// committed. At the next start, `recoverRestore` reads a journal left
// behind: the store holds its id → the restore committed, the old trees go;
// it does not → the old trees are put back. Either way the node is the old
// one or the new one, never a mixture.

import { existsSync, readdirSync, readFileSync, renameSync, rmSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { Paths } from '../core/paths.js';
import type { Store } from '../store/db.js';
import { syncFolder, writeFileInside } from '../os/files.js';
import { FILE_TREES, type UnpackedArchive } from './snapshot.js';

const JOURNAL = 'restore-journal.json';
const ASIDE = 'restore-aside';
/** Work folders of backups (create, verify, restore) under run/: private copies of stores and keys. */
export const WORK_PREFIX = 'backup-';

const journalSchema = z.strictObject({
  id: z.string().check(z.regex(/^[0-9a-f-]{36}$/)),
  archive: z.string().check(z.maxLength(300)),
  // Only the trees a backup holds: the journal never names another folder to remove or replace.
  trees: z.array(z.strictObject({ home: z.enum(FILE_TREES.map((t) => t.home)), hadLive: z.boolean() })).check(z.maxLength(FILE_TREES.length)),
});
export type RestoreJournal = z.infer<typeof journalSchema>;

export const newRestoreId = (): string => randomUUID();

const journalFile = (paths: Paths) => join(paths.run, JOURNAL);
const asideRoot = (paths: Paths) => join(paths.run, ASIDE);
/** Where a tree's old copy waits while a restore is under way. */
export const asideOf = (paths: Paths, home: string) => join(asideRoot(paths), home.replace(/\//g, '_'));

/** A swap that failed and could not be undone at once: the journal stays, and the next start undoes it. */
export class UndoFailed extends Error {}

/** Writes the journal (atomically, synced) and an empty aside folder: from here on a crash is recovered at start. */
export function beginJournal(paths: Paths, journal: RestoreJournal): void {
  rmSync(asideRoot(paths), { recursive: true, force: true });
  mkdirSync(asideRoot(paths), { recursive: true, mode: 0o700 });
  writeFileInside(paths.run, JOURNAL, JSON.stringify(journal), 0o600);
}

/** After the trees moved: their renames reach the disk before the store commits. */
export function syncMovedTrees(paths: Paths, journal: RestoreJournal): void {
  const folders = new Set([asideRoot(paths), ...journal.trees.map((t) => dirname(join(paths.home, t.home)))]);
  for (const folder of folders) syncFolder(folder);
}

/**
 * Puts the old trees back, whatever point the swap reached: a tree kept
 * aside replaces what is live; a tree the node did not have is removed.
 */
export function rollBack(paths: Paths, journal: RestoreJournal): void {
  for (const tree of [...journal.trees].reverse()) {
    const live = join(paths.home, tree.home);
    const old = asideOf(paths, tree.home);
    if (existsSync(old)) {
      rmSync(live, { recursive: true, force: true });
      renameSync(old, live);
    } else if (!tree.hadLive) {
      rmSync(live, { recursive: true, force: true });
    }
  }
  endJournal(paths);
}

/** The commit point of a restore: the store's transaction recorded its id. */
const hasCommitted = (store: Store, journal: RestoreJournal) => store.settings.get('backup.lastRestore')?.id === journal.id;

/** The restore is complete (committed, or rolled back): the journal goes first, then the old copies. */
export function endJournal(paths: Paths): void {
  rmSync(journalFile(paths), { force: true });
  rmSync(asideRoot(paths), { recursive: true, force: true });
}

/**
 * At start, before anything reads the trees: finishes or undoes a restore a
 * dead daemon left half-way, then removes the work folders it left
 * (decrypted stores, keys). Returns what it did, for the log.
 */
export function recoverRestore(paths: Paths, store: Store): string[] {
  const said: string[] = [];
  const file = journalFile(paths);
  if (existsSync(file)) {
    let journal: RestoreJournal | undefined;
    try {
      if (statSync(file).size > 64 * 1024) throw new Error('too large');
      journal = journalSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (error) {
      said.push(`the restore journal ${file} cannot be read (${(error as Error).message}); the trees kept in ${asideRoot(paths)} are left for an administrator`);
    }
    if (journal) {
      if (hasCommitted(store, journal)) {
        endJournal(paths);
        said.push(`the restore of ${journal.archive} had committed when platformd stopped: finished it`);
      } else {
        rollBack(paths, journal);
        said.push(`the restore of ${journal.archive} was interrupted before the store changed: the node's previous files are back`);
      }
    }
  } else if (existsSync(asideRoot(paths))) {
    // A journal that was never written, or already removed: nothing moved, or everything committed.
    rmSync(asideRoot(paths), { recursive: true, force: true });
  }
  const stale = existsSync(paths.run) ? readdirSync(paths.run).filter((name) => name.startsWith(WORK_PREFIX)) : [];
  for (const name of stale) rmSync(join(paths.run, name), { recursive: true, force: true });
  if (stale.length) said.push(`removed ${stale.length} backup work folder${stale.length === 1 ? '' : 's'} left by a stopped daemon`);
  return said;
}

/**
 * Puts a staged backup in place, trees and store together or not at all:
 * the journal first, then the file trees by rename (the old ones kept
 * aside), then every table of the store in one transaction that also
 * records the journal's id (the staged store holds it as
 * `backup.lastRestore`). A failure before the commit puts the old trees
 * back; a crash is finished or undone at the next start.
 */
export async function swapIn(store: Store, paths: Paths, unpacked: UnpackedArchive, migrated: string, journal: RestoreJournal): Promise<void> {
  beginJournal(paths, journal);
  await testPause(paths, 'journal');
  try {
    for (const [index, tree] of FILE_TREES.entries()) {
      const live = join(paths.home, tree.home);
      const staged = unpacked.trees.get(tree.home);
      if (journal.trees.find((t) => t.home === tree.home)?.hadLive) renameSync(live, asideOf(paths, tree.home));
      mkdirSync(dirname(live), { recursive: true });
      if (staged) renameSync(staged, live);
      else mkdirSync(live, { recursive: true, mode: 0o700 });
      if (index === 0) await testPause(paths, 'first-tree');
    }
    syncMovedTrees(paths, journal);
    await testPause(paths, 'trees');
    // Every table but the audit log takes the backup's rows, in one transaction (store/db.ts).
    await store.replaceContentsFrom(migrated);
  } catch (error) {
    try {
      // A failure after the commit (detaching the staged store, say) changes nothing: the restore is done.
      if (hasCommitted(store, journal)) return endJournal(paths);
      rollBack(paths, journal);
    } catch (undoError) {
      throw new UndoFailed(`the restore failed (${(error as Error).message}), and so did putting the previous files back (${(undoError as Error).message}): restart platformd, which puts them back at start`);
    }
    throw error;
  }
  await testPause(paths, 'committed');
  endJournal(paths);
}

/** The journal of a restore of `archive`: the trees it moves, and whether the node has each now. */
export function journalFor(paths: Paths, id: string, archive: string): RestoreJournal {
  return { id, archive, trees: FILE_TREES.map((tree) => ({ home: tree.home, hadLive: existsSync(join(paths.home, tree.home)) })) };
}

/**
 * Tests only (PLATFORM_TEST_HOOKS=restore-pause:<step>): stops at a step of a
 * restore, says so with a file run/test-paused-<step>, and goes on when the
 * test removes it — or never, when the test kills the daemon there.
 */
export async function testPause(paths: Paths, step: 'unpacked' | 'journal' | 'first-tree' | 'trees' | 'committed'): Promise<void> {
  const hooks = process.env.PLATFORM_TEST_HOOKS;
  if (!hooks || !hooks.split(',').includes(`restore-pause:${step}`)) return;
  const marker = join(paths.run, `test-paused-${step}`);
  writeFileSync(marker, '');
  while (existsSync(marker)) await new Promise((resolve) => setTimeout(resolve, 50));
}
