// What a backup holds, and how it is taken and put back. One table says
// which folders of the home travel in an archive; the config store travels
// as a consistent copy made by SQLite's online backup while the daemon runs.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Store, storeKeyFile } from '../store/db.js';
import type { Paths } from '../core/paths.js';
import { decryptStream } from './crypto-stream.js';
import { readEntries, under, writeEntries, type EntrySource } from './entries.js';

/** Folders of the home restored as a whole (each replaced in one rename). */
export const FILE_TREES = [
  { archive: 'files/certs', home: 'certs', holds: 'web certificate and key, pending CSR key, cluster CA and node identity' },
  { archive: 'files/etc/ssh', home: 'etc/ssh', holds: "the node's SSH key pair and the hosts it trusts" },
  { archive: 'files/etc/authorized_keys', home: 'etc/authorized_keys', holds: "administrators' SSH public keys" },
] as const;

export const STORE_ENTRY = 'store/config.db';
/** The key the store's secrets are sealed with: without it a restored store's passwords do not open. */
export const STORE_KEY_ENTRY = 'store/store.key';
export const MANIFEST_ENTRY = 'manifest.json';
const APP_DUMP = /^apps\/([a-z0-9][a-z0-9_-]{0,63})\.dump$/;

const MAX_FILE_BYTES = 16 * 1024 * 1024;
const DUMP_TIMEOUT_MS = 30 * 60_000;

/** An app that can put its data into a backup: its dump writes to stdout, its restore reads stdin. */
export interface DumpingApp {
  name: string;
  dump?: string[];
  restore?: string[];
}

function fileEntries(paths: Paths): EntrySource[] {
  const entries: EntrySource[] = [];
  const walk = (dir: string, tree: (typeof FILE_TREES)[number]) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path, tree);
      else if (stat.isFile()) {
        if (stat.size > MAX_FILE_BYTES) throw new Error(`${path} is larger than ${MAX_FILE_BYTES} bytes`);
        // Read now: the archive holds the files as they were at this instant.
        const content = readFileSync(path);
        const rel = relative(join(paths.home, tree.home), path).split('/').join('/');
        entries.push({ name: `${tree.archive}/${rel}`, mode: stat.mode, size: content.length, content: () => [content] });
      }
      // Links and devices are not part of a node's configuration: skipped.
    }
  };
  for (const tree of FILE_TREES) {
    const root = join(paths.home, tree.home);
    if (existsSync(root) && statSync(root).isDirectory()) walk(root, tree);
  }
  return entries;
}

function fileEntry(name: string, file: string): EntrySource {
  const size = statSync(file).size;
  return { name, mode: 0o600, size, content: () => createReadStream(file) };
}

/** Runs a dump command (no shell) with its output into a file; a clear error when it fails. */
export function runToFile(app: string, command: string[], out: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], signal, timeout: DUMP_TIMEOUT_MS });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const file = createWriteStream(out, { flags: 'wx', mode: 0o600 });
    child.stdout.pipe(file);
    child.once('error', (error) => reject(new Error(`${app}'s dump command did not run: ${error.message}`)));
    child.once('close', (code, sig) => {
      file.end(() => (code === 0 ? resolve() : reject(new Error(`${app}'s dump command failed (${sig ?? `exit ${code}`}): ${stderr.trim().split('\n').pop() ?? ''}`))));
    });
  });
}

/** Feeds a restored dump to an app's restore command. */
export function runFromFile(app: string, command: string[], input: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], signal, timeout: DUMP_TIMEOUT_MS });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.once('error', (error) => reject(new Error(`${app}'s restore command did not run: ${error.message}`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${app}'s restore command failed (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`))));
    createReadStream(input).pipe(child.stdin).on('error', () => undefined);
  });
}

export interface WrittenArchive {
  size: number;
  sha256: string;
}

/** Hashes and counts what passes. */
function tap(progress: (bytes: number) => void): Transform & { digest(): WrittenArchive } {
  const hash = createHash('sha256');
  let size = 0;
  const t = new Transform({
    transform(chunk: Buffer, _e, callback) {
      hash.update(chunk);
      size += chunk.length;
      progress(size);
      callback(null, chunk);
    },
  }) as Transform & { digest(): WrittenArchive };
  t.digest = () => ({ size, sha256: hash.digest('hex') });
  return t;
}

/**
 * Takes the snapshot into `work` and writes the encrypted archive `out`:
 * the inner manifest, the store (online backup), the file trees, each app's dump.
 */
export async function writeArchive(options: {
  store: Store;
  paths: Paths;
  work: string;
  out: string;
  innerManifest: object;
  apps: DumpingApp[];
  encrypt: () => Transform;
  signal: AbortSignal;
  progress: (what: string, bytes: number) => void;
}): Promise<WrittenArchive> {
  const { work } = options;
  const snapshot = join(work, 'config.db');
  // SQLite's online backup: a consistent copy while writers carry on.
  await options.store.copyTo(snapshot);
  const files = fileEntries(options.paths);
  const dumps: EntrySource[] = [];
  for (const app of options.apps) {
    if (!app.dump?.length) continue;
    if (!APP_DUMP.test(`apps/${app.name}.dump`)) throw new Error(`app name "${app.name}" cannot name a dump`);
    const out = join(work, `${app.name}.dump`);
    options.progress(`dumping ${app.name}`, 0);
    await runToFile(app.name, app.dump, out, options.signal);
    dumps.push(fileEntry(`apps/${app.name}.dump`, out));
  }
  const manifest = Buffer.from(JSON.stringify(options.innerManifest));
  const entries: EntrySource[] = [
    { name: MANIFEST_ENTRY, mode: 0o600, size: manifest.length, content: () => [manifest] },
    fileEntry(STORE_ENTRY, snapshot),
    fileEntry(STORE_KEY_ENTRY, storeKeyFile(options.paths.database)),
    ...files,
    ...dumps,
  ];
  const counted = tap((bytes) => options.progress('writing the archive', bytes));
  await pipeline(Readable.from(writeEntries(entries)), createGzip({ level: 6 }), options.encrypt(), counted, createWriteStream(options.out, { flags: 'wx', mode: 0o600 }), { signal: options.signal });
  return counted.digest();
}

export interface UnpackedArchive {
  /** Inner manifest text. */
  manifest: Buffer;
  store: string;
  /** Staged file trees by their home path ("certs" ...), present only if the archive has them. */
  trees: Map<string, string>;
  dumps: Map<string, string>;
}

/**
 * Decrypts, authenticates and unpacks into `staging`; throws ArchiveError on
 * anything wrong, NoRoomError when the declared content does not fit in
 * `room` bytes or a write runs out of space. Every stream is ended on every
 * path, `signal` included.
 */
export async function unpackArchive(file: string, key: Buffer, staging: string, limits: { maxBytes: number; room: number }, signal: AbortSignal): Promise<UnpackedArchive> {
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  const place = (name: string): string | undefined => {
    if (name === MANIFEST_ENTRY || name === STORE_ENTRY || name === STORE_KEY_ENTRY) return under(staging, name);
    if (APP_DUMP.test(name)) return under(staging, name);
    return FILE_TREES.some((t) => name.startsWith(`${t.archive}/`)) ? under(staging, name) : undefined;
  };
  let entries: Awaited<ReturnType<typeof readEntries>> = [];
  await pipeline(createReadStream(file), decryptStream(key), createGunzip(), async (plain: AsyncIterable<Buffer>) => {
    entries = await readEntries(plain, { ...limits, place });
  }, { signal });
  const names = new Set(entries.map((e) => e.name));
  if (!names.has(MANIFEST_ENTRY) || !names.has(STORE_ENTRY) || !names.has(STORE_KEY_ENTRY)) throw new Error('the archive lacks its manifest, its store or the store\'s key');
  const trees = new Map<string, string>();
  for (const tree of FILE_TREES) {
    if (entries.some((e) => e.name.startsWith(`${tree.archive}/`))) trees.set(tree.home, under(staging, tree.archive));
  }
  const dumps = new Map<string, string>();
  for (const entry of entries) {
    const match = APP_DUMP.exec(entry.name);
    if (match) dumps.set(match[1]!, entry.file);
  }
  return { manifest: readFileSync(under(staging, MANIFEST_ENTRY)), store: under(staging, STORE_ENTRY), trees, dumps };
}

/** Whether a folder holds at least one file (an archive carries files, never empty folders). */
function holdsFiles(dir: string): boolean {
  if (!existsSync(dir) || !lstatSync(dir).isDirectory()) return false;
  return readdirSync(dir).some((name) => {
    const stat = lstatSync(join(dir, name));
    return stat.isFile() || (stat.isDirectory() && holdsFiles(join(dir, name)));
  });
}

/** The trees this node has that the archive lacks: restoring it would leave the node without them (a new identity, no keys). */
export function treesMissingFrom(paths: Paths, unpacked: UnpackedArchive): (typeof FILE_TREES)[number][] {
  return FILE_TREES.filter((tree) => !unpacked.trees.has(tree.home) && holdsFiles(join(paths.home, tree.home)));
}

/** Copies a file through the hashing tap; returns its SHA-256 and size. */
export async function hashFile(file: string): Promise<WrittenArchive> {
  const counted = tap(() => undefined);
  await pipeline(createReadStream(file), counted, async function* (source) {
    for await (const _ of source) {
      // drained
    }
  });
  return counted.digest();
}
