// Backups of a node to its backup locations: create, list, verify, restore,
// clean. A backup is taken into a private work folder under run/, written
// as one encrypted archive, and uploaded (archive first, its manifest last,
// each under a temporary name renamed when complete), so a location only
// ever shows complete backups. A restore downloads, checks and unpacks the
// whole archive before the node changes at all, within the room the data
// folder has, and one verify or restore runs at a time on a node.

import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { backupLocations, type BackupLocation } from '../net/locations.js';
import { redactUri, type NetworkUri } from '../net/uri.js';
import { Store } from '../store/db.js';
import { latestVersion } from '../store/migrations.js';
import { nodeOrDefault } from '../store/node.js';
import type { Paths } from '../core/paths.js';
import { ArchiveError, encryptStream, keyId } from './crypto-stream.js';
import { ManifestError, manifestName, MANIFEST_FORMAT, MAX_MANIFEST_BYTES, parseBackupName, parseManifest, sameBackup, type Manifest, backupName } from './manifest.js';
import { hashFile, runFromFile, treesMissingFrom, unpackArchive, writeArchive, type DumpingApp } from './snapshot.js';
import { checkStagedStore } from '../store/staged.js';
import { NoRoomError } from './entries.js';
import { journalFor, newRestoreId, swapIn, testPause, UndoFailed, WORK_PREFIX } from './restore-journal.js';
import { connectLocation } from './transports/connect.js';
import { TransportError, type Transport } from './transports/index.js';

/** The largest archive a restore downloads, and the most it unpacks. */
export const MAX_ARCHIVE_BYTES = 8 * 1024 ** 3;
export const MAX_UNPACKED_BYTES = 32 * 1024 ** 3;
/** What a restore leaves free in the data folder: a tenth of it, at most 256 MiB. */
const RESERVE_FRACTION = 0.1;
const MAX_RESERVE_BYTES = 256 * 1024 ** 2;

/** Why a backup operation failed; `input` errors are the person's (exit 2). */
export class BackupError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly input = false,
  ) {
    super(message);
  }
}

export interface BackupEnv {
  store: Store;
  paths: Paths;
  productVersion: string;
  apps(): DumpingApp[];
  /** A line in the console (bytes, rate) for anything longer than a second. */
  progress(text: string): void;
  ask(question: { text: string; secret?: boolean }): Promise<string>;
  signal: AbortSignal;
  now?: () => Date;
}

function location(env: BackupEnv, name: string): BackupLocation {
  const found = backupLocations(env.store).find((l) => l.name === name);
  if (!found) throw new BackupError('no-such-location', `no backup location named ${name}; see "backup list"`, true);
  return found;
}

/** Where a location's backups go: its URI, then its alternate when it has one. */
export type DestinationRole = 'primary' | 'alternate';
interface Destination {
  role: DestinationRole;
  uri: NetworkUri;
}
const destinationsOf = (target: BackupLocation): Destination[] => [{ role: 'primary', uri: target.uri }, ...(target.alternate ? [{ role: 'alternate' as const, uri: target.alternate }] : [])];
const named = (d: Destination) => `the ${d.role} ${redactUri(d.uri)}`;

/** Errors that end the whole operation rather than send it to the next destination: the person's, or a cancel. */
const final = (error: BackupError) => error.input || error.code === 'cancelled';

/**
 * Runs `work` with a transport to each destination in turn until one
 * succeeds; what the others said is kept for the message when all fail.
 */
async function firstThatWorks<T>(env: BackupEnv, target: BackupLocation, work: (transport: Transport, destination: Destination) => Promise<T>): Promise<{ result: T; destination: Destination; failed: string[] }> {
  const failed: string[] = [];
  const destinations = destinationsOf(target);
  for (const destination of destinations) {
    try {
      const transport = await connect(env, destination.uri);
      try {
        return { result: await work(transport, destination), destination, failed };
      } finally {
        await transport.close();
      }
    } catch (error) {
      const reason = asBackupError(error, redactUri(destination.uri));
      if (final(reason) || destinations.length === 1) throw reason;
      failed.push(`${named(destination)}: ${reason.message}`);
    }
  }
  throw new BackupError('no-destination', `neither destination of ${target.name} works: ${failed.join('; ')}`);
}

function thisNode(env: BackupEnv) {
  return nodeOrDefault(env.store, osHostname());
}

async function connect(env: BackupEnv, uri: NetworkUri): Promise<Transport> {
  try {
    return await connectLocation(env, uri);
  } catch (error) {
    throw asBackupError(error, redactUri(uri));
  }
}

function asBackupError(error: unknown, where: string): BackupError {
  if (error instanceof BackupError) return error;
  if (error instanceof NoRoomError) return new BackupError('no-room', `the data folder has no room for this backup: ${error.message}; nothing was changed`);
  if ((error as Error)?.name === 'AbortError') return new BackupError('cancelled', 'cancelled; nothing was changed');
  if (error instanceof ArchiveError) return new BackupError(`archive-${error.reason}`, error.message);
  if (error instanceof ManifestError) return new BackupError('bad-manifest', `the backup's manifest is not valid: ${error.message}`);
  if (error instanceof TransportError) return new BackupError('transfer-failed', error.message);
  const code = (error as { code?: string }).code;
  if (code === 'needs-answer' || (error as { exitStatus?: number }).exitStatus === 2) throw error;
  if (code === 'ABORT_ERR') return new BackupError('cancelled', 'cancelled; nothing was changed');
  if (code === 'EIO' || code === 'EROFS') return new BackupError('data-folder-failed', `the data folder could not be written: ${(error as Error).message}; nothing was changed`);
  return new BackupError('backup-failed', `${where}: ${(error as Error).message}`);
}

/** Progress every quarter second, from the first second on: bytes and rate. */
export function progressLine(env: BackupEnv, what: string, total?: number): (bytes: number) => void {
  const start = Date.now();
  let last = 0;
  return (bytes) => {
    const now = Date.now();
    if (now - start < 1000 || now - last < 250) return;
    last = now;
    const rate = bytes / ((now - start) / 1000);
    env.progress(`${what}: ${formatBytes(bytes)}${total ? ` of ${formatBytes(total)}` : ''}, ${formatBytes(rate)}/s`);
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A private folder under run/ for one operation; its caller removes it, and platformd's start removes any left by a kill. */
function workFolder(env: BackupEnv, what: string): string {
  const dir = join(env.paths.run, `${WORK_PREFIX}${what}-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Bytes that may still be written in `dir`'s file system, keeping its reserve free. */
export function roomIn(dir: string): { room: number; free: number; reserve: number } {
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  const reserve = Math.min(MAX_RESERVE_BYTES, Math.floor(fs.blocks * fs.bsize * RESERVE_FRACTION));
  return { room: free - reserve, free, reserve };
}

function checkRoom(dir: string, needed: number, what: string): void {
  const { room, free, reserve } = roomIn(dir);
  if (needed > room) throw new NoRoomError(`${what} needs ${formatBytes(needed)}, and the data folder has ${formatBytes(free)} free, of which ${formatBytes(reserve)} stays free`);
}

/** Which verify or restore runs on each node (by home): they unpack whole archives and may swap the node's state, so one at a time. */
const running = new Map<string, 'verify' | 'restore'>();

async function oneAtATime<T>(env: BackupEnv, what: 'verify' | 'restore', work: () => Promise<T>): Promise<T> {
  const busy = running.get(env.paths.home);
  if (busy) throw new BackupError('busy', `a backup ${busy} is already running on this node; wait for it to end, then try again`);
  running.set(env.paths.home, what);
  try {
    return await work();
  } finally {
    running.delete(env.paths.home);
  }
}

export interface CreatedBackup {
  location: string;
  /** Which destination took it, shown redacted; and why those before it did not. */
  destination: DestinationRole;
  uri: string;
  skipped: string[];
  archive: string;
  size: number;
  sha256: string;
}

export async function createBackup(env: BackupEnv, locationName: string, key: Buffer): Promise<CreatedBackup> {
  const target = location(env, locationName);
  // A snapshot taken while a restore swaps the trees would hold a mixture.
  if (running.get(env.paths.home) === 'restore') throw new BackupError('busy', 'a backup restore is running on this node; back it up once it has ended');
  const node = thisNode(env);
  const now = (env.now ?? (() => new Date()))();
  const archive = backupName(node.hostname, now);
  const inner: Manifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    archive,
    node: node.hostname,
    roles: node.roles,
    productVersion: env.productVersion,
    schemaVersion: env.store.schemaVersion,
    createdAt: now.toISOString(),
    keyId: keyId(key).toString('hex'),
  };
  const work = workFolder(env, 'create');
  try {
    const out = join(work, archive);
    const stepProgress = new Map<string, (bytes: number) => void>();
    const written = await writeArchive({
      store: env.store,
      paths: env.paths,
      work,
      out,
      innerManifest: inner,
      apps: env.apps(),
      encrypt: () => encryptStream(key),
      signal: env.signal,
      progress: (what, bytes) => {
        if (!stepProgress.has(what)) stepProgress.set(what, progressLine(env, what));
        stepProgress.get(what)!(bytes);
      },
    }).catch((error) => {
      throw asBackupError(error, 'taking the snapshot');
    });
    const outside: Manifest = { ...inner, size: written.size, sha256: written.sha256 };
    const manifestFile = join(work, manifestName(archive));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(manifestFile, JSON.stringify(outside, null, 2) + '\n', { mode: 0o600 });
    // The primary, or the alternate when the primary cannot be reached or refuses the upload.
    const uploaded = await firstThatWorks(env, target, async (transport) => {
      await transport.put(out, archive, progressLine(env, `uploading ${archive}`, written.size));
      // The manifest last: a location lists a backup only once both are there.
      await transport.put(manifestFile, manifestName(archive), () => undefined);
    });
    const { destination } = uploaded;
    return { location: locationName, destination: destination.role, uri: redactUri(destination.uri), skipped: uploaded.failed, archive, size: written.size, sha256: written.sha256 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface ListedBackup {
  archive: string;
  node: string;
  time: string;
  size: number;
  /** Verified on this node (`backup verify`, or a restore) with the same SHA-256. */
  verified: boolean;
  /** Why the manifest could not be used, if it could not. */
  problem?: string;
  manifest?: Manifest;
  /** Which of the location's destinations holds it. */
  destination: DestinationRole;
}

/** The backups at one location: archives with a valid manifest beside them, newest first. */
export async function listBackups(env: BackupEnv, transport: Transport, destination: DestinationRole = 'primary'): Promise<ListedBackup[]> {
  const files = await transport.list();
  const names = new Set(files.map((f) => f.name));
  const verified = env.store.settings.get('backup.verified');
  const out: ListedBackup[] = [];
  for (const file of files) {
    const parsed = parseBackupName(file.name);
    if (!parsed || !names.has(manifestName(file.name))) continue;
    try {
      const manifest = parseManifest(await transport.read(manifestName(file.name), MAX_MANIFEST_BYTES), true);
      const problem = manifest.archive !== file.name ? 'its manifest names another archive' : manifest.size !== file.size ? `size ${file.size} differs from the manifest's ${manifest.size}` : undefined;
      out.push({ archive: file.name, node: manifest.node, time: manifest.createdAt, size: file.size, verified: !problem && verified[file.name] === manifest.sha256, problem, manifest, destination });
    } catch (error) {
      out.push({ archive: file.name, node: parsed.hostname, time: parsed.time, size: file.size, verified: false, problem: (error as Error).message, destination });
    }
  }
  return out.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}

/** What each destination of a location holds, or why it could not be listed. */
export interface DestinationListing {
  destination: DestinationRole;
  uri: string;
  backups?: ListedBackup[];
  error?: string;
}

export async function listEach(env: BackupEnv, locationName: string): Promise<DestinationListing[]> {
  const target = location(env, locationName);
  return Promise.all(
    destinationsOf(target).map(async (d): Promise<DestinationListing> => {
      const uri = redactUri(d.uri);
      try {
        const transport = await connect(env, d.uri);
        try {
          return { destination: d.role, uri, backups: await listBackups(env, transport, d.role) };
        } finally {
          await transport.close();
        }
      } catch (error) {
        const reason = asBackupError(error, uri);
        if (final(reason)) throw reason;
        return { destination: d.role, uri, error: reason.message };
      }
    }),
  );
}

/** The backups at a location, from both destinations, newest first; fails only when no destination can be listed. */
export async function listAt(env: BackupEnv, locationName: string): Promise<ListedBackup[]> {
  const each = await listEach(env, locationName);
  if (each.every((d) => d.error !== undefined)) {
    throw new BackupError('transfer-failed', each.length === 1 ? each[0]!.error! : `neither destination of ${locationName} can be listed: ${each.map((d) => `the ${d.destination} ${d.uri}: ${d.error}`).join('; ')}`);
  }
  return each.flatMap((d) => d.backups ?? []).sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}

/**
 * The destination holding the backup a verify or restore wants (the one
 * named, or the wanted node's newest across both), connected. Without a
 * match, the first reachable one: fetchAndCheck then says what is missing.
 */
async function holderOf(env: BackupEnv, target: BackupLocation, options: RestoreChoice): Promise<{ transport: Transport; uri: NetworkUri; archive?: string }> {
  const wanted = options.from ?? thisNode(env).hostname;
  const open: { transport: Transport; destination: Destination; listed: ListedBackup[] }[] = [];
  const failed: string[] = [];
  for (const destination of destinationsOf(target)) {
    try {
      const transport = await connect(env, destination.uri);
      try {
        open.push({ transport, destination, listed: await listBackups(env, transport, destination.role) });
      } catch (error) {
        await transport.close();
        throw error;
      }
    } catch (error) {
      const reason = asBackupError(error, redactUri(destination.uri));
      if (final(reason) || destinationsOf(target).length === 1) {
        for (const o of open) await o.transport.close();
        throw reason;
      }
      failed.push(`${named(destination)}: ${reason.message}`);
    }
  }
  if (!open.length) throw new BackupError('no-destination', `neither destination of ${target.name} works: ${failed.join('; ')}`);
  const candidates = open.flatMap((o) => o.listed.map((b) => ({ o, b })));
  const match = options.archive
    ? candidates.find((c) => c.b.archive === options.archive)
    : candidates.filter((c) => c.b.node === wanted && !c.b.problem).sort((x, y) => (x.b.time < y.b.time ? 1 : x.b.time > y.b.time ? -1 : 0))[0];
  const chosen = match?.o ?? open[0]!;
  for (const o of open) if (o !== chosen) await o.transport.close();
  return { transport: chosen.transport, uri: chosen.destination.uri, archive: match?.b.archive ?? options.archive };
}

/** Which backup: a named one, or a node's newest; `confirm` (a restore's question) sees it once chosen, before anything is downloaded. */
interface RestoreChoice {
  archive?: string;
  from?: string;
  confirm?: (chosen: Manifest) => Promise<void>;
}

interface Checked {
  manifest: Manifest;
  unpacked: Awaited<ReturnType<typeof unpackArchive>>;
  work: string;
}

/** Picks, downloads and fully checks a backup; the node is not touched. The caller removes `work`. */
async function fetchAndCheck(env: BackupEnv, transport: Transport, key: Buffer, options: RestoreChoice, work: string): Promise<Checked> {
  const self = thisNode(env).hostname;
  const wanted = options.from ?? self;
  const listed = await listBackups(env, transport);
  let chosen: ListedBackup | undefined;
  if (options.archive) {
    chosen = listed.find((b) => b.archive === options.archive);
    if (!chosen) throw new BackupError('no-such-backup', `no backup named ${options.archive} at this location; see "backup list <location>"`, true);
  } else {
    chosen = listed.find((b) => b.node === wanted && !b.problem);
    if (!chosen) {
      const others = [...new Set(listed.filter((b) => !b.problem).map((b) => b.node))];
      const hint = !options.from && others.length ? `; it holds backups of ${others.join(', ')}: to restore one here, add --from ${others[0]}` : '';
      throw new BackupError('no-backup', `no backup of ${wanted} at this location${hint}`, true);
    }
  }
  if (chosen.problem || !chosen.manifest) throw new BackupError('bad-manifest', `${chosen.archive}: ${chosen.problem ?? 'no manifest'}`);
  const manifest = chosen.manifest as Manifest & { size: number; sha256: string };
  if (manifest.node !== wanted) {
    throw new BackupError('other-node', options.from ? `${chosen.archive} is a backup of ${manifest.node}, not of ${options.from}` : `${chosen.archive} is a backup of ${manifest.node}, not of this node (${self}); add --from ${manifest.node} to restore it here`, true);
  }
  if (manifest.schemaVersion > latestVersion) throw new BackupError('newer-schema', `${chosen.archive} has store schema ${manifest.schemaVersion}, newer than this product's ${latestVersion} (product ${manifest.productVersion}): restore it with that product or newer`);
  if (manifest.keyId !== keyId(key).toString('hex')) throw new BackupError('wrong-key', `${chosen.archive} was encrypted with another backup key than this node's (key id ${manifest.keyId}); import that key with "backup key import"`);
  if (manifest.size > MAX_ARCHIVE_BYTES) throw new BackupError('too-large', `${chosen.archive} is larger than ${formatBytes(MAX_ARCHIVE_BYTES)}`);
  await options.confirm?.(manifest);
  const local = join(work, 'archive');
  checkRoom(work, manifest.size, `${chosen.archive} (${formatBytes(manifest.size)})`);
  await transport.get(chosen.archive, local, manifest.size, progressLine(env, `downloading ${chosen.archive}`, manifest.size));
  const { sha256, size } = await hashFile(local);
  if (size !== manifest.size || sha256 !== manifest.sha256) throw new BackupError('archive-tampered', `${chosen.archive} does not match its manifest (${size !== manifest.size ? `size ${size}, expected ${manifest.size}` : 'SHA-256 differs'}): truncated or altered`);
  env.progress(`checking ${chosen.archive}`);
  // The content's declared sizes, added up as each entry comes, must fit in what is left once the archive is here.
  const { room } = roomIn(work);
  const unpacked = await unpackArchive(local, key, join(work, 'staging'), { maxBytes: MAX_UNPACKED_BYTES, room }, env.signal);
  await testPause(env.paths, 'unpacked');
  const inner = parseManifest(unpacked.manifest, false);
  const differs = sameBackup(manifest, inner);
  if (differs) throw new BackupError('archive-tampered', `${chosen.archive}: the manifest beside it disagrees with the one inside it (${differs})`);
  try {
    await checkStagedStore(unpacked.store, latestVersion);
  } catch (error) {
    throw new BackupError((error as { newer?: boolean }).newer ? 'newer-schema' : 'bad-store', (error as Error).message);
  }
  const verified = env.store.settings.get('backup.verified');
  env.store.settings.set('backup.verified', { ...verified, [chosen.archive]: manifest.sha256! });
  return { manifest, unpacked, work };
}

export function verifyBackup(env: BackupEnv, locationName: string, key: Buffer, options: { archive?: string; from?: string }): Promise<Manifest> {
  return oneAtATime(env, 'verify', async () => {
    const target = location(env, locationName);
    const { transport, uri, archive } = await holderOf(env, target, options);
    const work = workFolder(env, 'verify');
    try {
      return (await fetchAndCheck(env, transport, key, { ...options, archive }, work)).manifest;
    } catch (error) {
      throw asBackupError(error, redactUri(uri));
    } finally {
      await transport.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/**
 * Restores a backup: everything is downloaded and checked first, then the
 * file trees and the store are swapped in (all or nothing), then each app
 * with a restore command gets its dump, then `restart` brings the services
 * that read them (nginx, firewall, cluster agent) onto the restored state.
 */
export function restoreBackup(env: BackupEnv, locationName: string, key: Buffer, options: RestoreChoice & { restart: () => Promise<void> }): Promise<Manifest> {
  return oneAtATime(env, 'restore', async () => {
    const target = location(env, locationName);
    const { transport, uri, archive } = await holderOf(env, target, options);
    const work = workFolder(env, 'restore');
    try {
      const checked = await (async () => {
        try {
          const found = await fetchAndCheck(env, transport, key, { ...options, archive }, work);
          const missing = treesMissingFrom(env.paths, found.unpacked);
          if (missing.length) {
            const trees = missing.map((t) => `${t.archive} (${t.holds})`).join(', ');
            throw new BackupError('incomplete-backup', `${found.manifest.archive} lacks ${trees}, which this node has: restoring it would leave the node without them; nothing was changed`);
          }
          return found;
        } finally {
          await transport.close();
        }
      })().catch((error) => {
        throw asBackupError(error, redactUri(uri));
      });
      const journal = journalFor(env.paths, newRestoreId(), checked.manifest.archive);
      try {
        // Bring an older backup's store up to this product's schema before it goes live, and let
        // it carry this restore's id: the store's transaction then says the restore committed.
        const staged = Store.open(checked.unpacked.store);
        try {
          staged.settings.set('backup.lastRestore', { id: journal.id, archive: checked.manifest.archive, at: new Date().toISOString() });
        } finally {
          staged.closeAsSingleFile();
        }
      } catch (error) {
        throw new BackupError('bad-store', `the backup's store cannot be brought up to date: ${(error as Error).message}; nothing was changed`);
      }
      // The last moment to stop: from here the trees and the store change together.
      if (env.signal.aborted) throw new BackupError('cancelled', 'cancelled; nothing was changed');
      env.progress('putting the backup in place');
      try {
        await swapIn(env.store, env.paths, checked.unpacked, checked.unpacked.store, journal);
      } catch (error) {
        if (error instanceof UndoFailed) throw new BackupError('restore-failed', error.message);
        throw new BackupError('restore-failed', `nothing was changed: ${(error as Error).message}`);
      }
      const apps = env.apps();
      for (const [name, dump] of checked.unpacked.dumps) {
        const app = apps.find((a) => a.name === name);
        if (!app?.restore?.length) continue;
        env.progress(`restoring ${name}'s data`);
        await runFromFile(name, app.restore, dump, env.signal).catch((error) => {
          throw new BackupError('app-restore-failed', `the node's configuration was restored, but ${(error as Error).message}`);
        });
      }
      env.progress('restarting nginx, the firewall and the cluster agent');
      await options.restart();
      return checked.manifest;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/** Keeps the `keep` newest backups of each node at each destination of a location; returns the removed names. */
export async function cleanBackups(env: BackupEnv, locationName: string, keep: number): Promise<string[]> {
  const removed: string[] = [];
  for (const destination of destinationsOf(location(env, locationName))) removed.push(...(await cleanAt(env, destination.uri, keep)));
  return removed;
}

async function cleanAt(env: BackupEnv, uri: NetworkUri, keep: number): Promise<string[]> {
  const transport = await connect(env, uri);
  try {
    const listed = await listBackups(env, transport);
    const seen = new Map<string, number>();
    const removed: string[] = [];
    for (const backup of listed) {
      const count = (seen.get(backup.node) ?? 0) + 1;
      seen.set(backup.node, count);
      if (count <= keep) continue;
      // The manifest first: a half-removed backup no longer lists as one.
      await transport.remove(manifestName(backup.archive));
      await transport.remove(backup.archive);
      removed.push(backup.archive);
    }
    return removed;
  } catch (error) {
    throw asBackupError(error, redactUri(uri));
  } finally {
    await transport.close();
  }
}
