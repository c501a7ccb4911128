// Installing a release file into the product root, and checking an installed
// release against its signed manifest (at every start: "verified on load").

import { createHash, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, constants, existsSync, lstatSync, openSync, readSync, type BigIntStats, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readSignedManifest, unpackContents } from './container.js';
import { freeBytes, isLinked, readJson, RELEASE_META, releaseDir, removeRelease, sealFile, stampFile, writeJsonAtomic, type ProductRoot } from './layout.js';
import { checkSignature, checkUpgradePath, RELEASE_LIMITS, ReleaseRefused, signedValue, type ReleaseManifest } from './manifest.js';

const MANIFEST_FILE = 'manifest.json';
const SIGNATURE_FILE = 'signature';

/** What a file looked like when its content was last hashed: unchanged inode, size and times mean unchanged content. */
type Stamp = Record<string, [ino: number, size: number, mtimeNs: string, ctimeNs: string]>;

const stampFrom = (stat: BigIntStats): Stamp[string] => [Number(stat.ino), Number(stat.size), String(stat.mtimeNs), String(stat.ctimeNs)];
const stampOf = (path: string) => stampFrom(lstatSync(path, { bigint: true }));

/** Records every file's stamp, and the seal of the whole release, after a full check. */
function writeStamp(product: ProductRoot, manifest: ReleaseManifest, dir: string): void {
  const stamp: Stamp = {};
  for (const file of manifest.files) stamp[file.path] = stampOf(join(dir, ...file.path.split('/')));
  writeJsonAtomic(stampFile(product, manifest.version), stamp);
  const stamps = stampsDigest(dir, manifest);
  // A file gone meanwhile: no seal, and the next check walks the release.
  if (!stamps) return rmSync(sealFile(product, manifest.version), { force: true });
  const seal: Seal = { manifest: createHash('sha256').update(readFileSync(join(dir, RELEASE_META, MANIFEST_FILE))).digest('hex'), stamps };
  writeJsonAtomic(sealFile(product, manifest.version), seal);
}

/**
 * The seal: the hash of the manifest's bytes, and one digest of the stamps
 * of every file and every folder of the release. A folder's times move when
 * an entry is added, removed or renamed in it, so an unchanged digest means
 * no file changed, none came and none went: platformd's start then stats
 * the files without reading the stamps or walking the folders.
 */
interface Seal {
  manifest: string;
  stamps: string;
}

/** The digest of the stamps of the release's files and folders; undefined when one is missing. */
function stampsDigest(dir: string, manifest: ReleaseManifest): string | undefined {
  const hash = createHash('sha256');
  const record = Buffer.alloc(32);
  const add = (path: string): boolean => {
    const stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    if (!stat) return false;
    record.writeBigUInt64LE(stat.ino, 0);
    record.writeBigUInt64LE(stat.size, 8);
    record.writeBigInt64LE(stat.mtimeNs, 16);
    record.writeBigInt64LE(stat.ctimeNs, 24);
    hash.update(record);
    return true;
  };
  const folders = new Set<string>();
  for (const file of manifest.files) {
    if (!add(join(dir, file.path))) return undefined;
    for (let at = file.path.lastIndexOf('/'); at > 0; at = file.path.lastIndexOf('/', at - 1)) {
      const folder = file.path.slice(0, at);
      if (folders.has(folder)) break;
      folders.add(folder);
    }
  }
  if (!add(dir)) return undefined;
  for (const folder of [...folders].sort()) if (!add(join(dir, folder))) return undefined;
  return hash.digest('hex');
}

/**
 * Checks and installs a release file as releases/<version>. Refused (ReleaseRefused)
 * when its signature, bounds, upgrade path, room or any file's hash is wrong;
 * then nothing of it is left behind.
 */
export async function installRelease(
  product: ProductRoot,
  file: string,
  options: { trusted: ReadonlyMap<string, KeyObject>; running?: string; progress?: (bytes: number, total: number) => void },
): Promise<ReleaseManifest> {
  const { manifest, header } = await readSignedManifest(file, options.trusted);
  if (options.running !== undefined) checkUpgradePath(manifest, options.running);
  const target = releaseDir(product, manifest.version);
  if (isLinked(product, manifest.version)) throw new ReleaseRefused('already-installed', `release ${manifest.version} is installed already (${target})`);
  mkdirSync(product.releases, { recursive: true, mode: 0o755 });
  const total = manifest.files.reduce((sum, f) => sum + f.size, 0);
  const free = freeBytes(product.releases);
  if (total + RELEASE_LIMITS.reserveBytes > free) {
    throw new ReleaseRefused('no-room', `release ${manifest.version} needs ${total} bytes and ${RELEASE_LIMITS.reserveBytes} to spare; ${product.releases} has ${free} free`);
  }
  const staging = join(product.releases, `.staging-${manifest.version}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    mkdirSync(staging, { mode: 0o755 });
    await unpackContents(file, header, manifest, staging, (bytes) => options.progress?.(bytes, total));
    mkdirSync(join(staging, RELEASE_META), { mode: 0o755 });
    writeFileSync(join(staging, RELEASE_META, MANIFEST_FILE), header.manifestBytes, { mode: 0o644 });
    writeFileSync(join(staging, RELEASE_META, SIGNATURE_FILE), header.signature, { mode: 0o644 });
    readableByAll(staging);
    // A folder of this version that no link names (one that failed its check at start) is replaced by the release just checked.
    removeRelease(product, manifest.version);
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  writeStamp(product, manifest, target);
  return manifest;
}

/**
 * Folders 0755 and the signed manifest 0644 whatever the umask: platformd's
 * is 0077, and the console runs from the release as its own user.
 */
function readableByAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) chmodSync(path, 0o755);
  }
  for (const name of [MANIFEST_FILE, SIGNATURE_FILE]) chmodSync(join(dir, RELEASE_META, name), 0o644);
}

/** The manifest and signature files of an installed release, bounded. */
function readSigned(product: ProductRoot, version: string): { bytes: Buffer; signature: Buffer } {
  const meta = join(releaseDir(product, version), RELEASE_META);
  const read = (name: string, max: number) => {
    const path = join(meta, name);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile()) throw new ReleaseRefused('manifest-missing', `release ${version} has no signed manifest (${path})`);
    if (stat.size > max) throw new ReleaseRefused('manifest-too-large', `release ${version}'s ${name} is too large`);
    return readFileSync(path);
  };
  return { bytes: read(MANIFEST_FILE, RELEASE_LIMITS.manifestBytes), signature: read(SIGNATURE_FILE, 64) };
}

function checkVersion(manifest: ReleaseManifest, version: string): ReleaseManifest {
  if (manifest.version !== version) throw new ReleaseRefused('version-mismatch', `the folder of release ${version} holds the manifest of ${manifest.version}`);
  return manifest;
}

/** The signed manifest of an installed release, checked against the trusted keys. */
export function installedManifest(product: ProductRoot, version: string, trusted: ReadonlyMap<string, KeyObject>): ReleaseManifest {
  const { bytes, signature } = readSigned(product, version);
  return checkVersion(checkSignature(bytes, signature, trusted), version);
}

/**
 * The quick check at start: the signature is checked against today's trusted
 * keys every time; the manifest's shape is not checked again when its bytes
 * are those the seal was written for (they passed it then); then one stat
 * of every file and folder, against the seal. Undefined: not sealed, or
 * something moved: the full check decides.
 */
function sealedManifest(product: ProductRoot, version: string, trusted: ReadonlyMap<string, KeyObject>): ReleaseManifest | undefined {
  const seal = readJson<Seal>(sealFile(product, version), 1024);
  if (typeof seal?.manifest !== 'string' || typeof seal.stamps !== 'string') return undefined;
  const { bytes, signature } = readSigned(product, version);
  const value = signedValue(bytes, signature, trusted);
  if (createHash('sha256').update(bytes).digest('hex') !== seal.manifest) return undefined;
  const manifest = checkVersion(value as ReleaseManifest, version);
  return stampsDigest(releaseDir(product, version), manifest) === seal.stamps ? manifest : undefined;
}

/** One buffer for every file: hashing thousands of small files costs their reads, not a stream each. */
const readBuffer = Buffer.allocUnsafe(4 << 20);

/** The SHA-256 of a file, read synchronously (at start, before platformd serves; or by the release tool). */
function hashOf(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    for (;;) {
      const n = readSync(fd, readBuffer, 0, readBuffer.length, null);
      if (n === 0) break;
      hash.update(readBuffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export interface VerifiedRelease {
  manifest: ReleaseManifest;
  /** Files whose content was hashed (their inode, size or times changed since the last check); the rest were unchanged. */
  hashed: number;
}

/**
 * Checks an installed release against its signed manifest: no file missing,
 * none extra, no link, every size and mode, and the hash of every file that
 * changed since it was last hashed (the stamp of inode, size, mtime and ctime:
 * a write or a chmod moves ctime, which no program can set back). A release
 * whose seal still holds passed all of this before and nothing of it moved
 * since. Throws ReleaseRefused.
 */
export async function verifyInstalled(product: ProductRoot, version: string, trusted: ReadonlyMap<string, KeyObject>, options: { full?: boolean } = {}): Promise<VerifiedRelease> {
  const sealed = options.full ? undefined : sealedManifest(product, version, trusted);
  if (sealed) return { manifest: sealed, hashed: 0 };
  const manifest = installedManifest(product, version, trusted);
  const dir = releaseDir(product, version);
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  let seen = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = relative(dir, join(entry.parentPath, entry.name));
    if (path === RELEASE_META || path.startsWith(`${RELEASE_META}/`)) continue;
    if (entry.isDirectory()) continue;
    const file = listed.get(path);
    if (!entry.isFile() || !file) throw new ReleaseRefused('extra-file', `release ${version} holds ${path}, which its manifest does not list`);
    seen++;
  }
  if (seen !== manifest.files.length) {
    const missing = manifest.files.find((f) => !existsSync(join(dir, ...f.path.split('/'))));
    throw new ReleaseRefused('missing-file', `release ${version} lacks ${missing?.path ?? 'a file of its manifest'}`);
  }
  const stamp = options.full ? undefined : readJson<Stamp>(stampFile(product, version), 16 * 1024 * 1024);
  let hashed = 0;
  for (const file of manifest.files) {
    const path = join(dir, ...file.path.split('/'));
    const stat = lstatSync(path, { bigint: true });
    const size = Number(stat.size);
    const mode = Number(stat.mode) & 0o7777;
    if (size !== file.size) throw new ReleaseRefused('size-mismatch', `${file.path} of release ${version} is ${size} bytes, not the ${file.size} signed`);
    if (mode !== file.mode) throw new ReleaseRefused('mode-mismatch', `${file.path} of release ${version} has mode ${mode.toString(8)}, not the ${file.mode.toString(8)} signed`);
    const before = stamp?.[file.path];
    const now = stampFrom(stat);
    if (before && before.every((v, i) => v === now[i])) continue;
    hashed++;
    if (hashOf(path) !== file.sha256) throw new ReleaseRefused('hash-mismatch', `${file.path} of release ${version} does not match its signed hash: it was changed`);
  }
  writeStamp(product, manifest, dir);
  return { manifest, hashed };
}
