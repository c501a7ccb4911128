// The signed manifest of a release file (`platform-<version>.psup`): what the
// release is (its version, the store schema it brings, the oldest version it
// upgrades from, the Node it runs on) and every file it carries with its
// size, mode and SHA-256. A release file comes from outside, so the manifest
// is hostile until its signature checks against a trusted key, and even then
// its shape, bounds and path names are checked before any byte lands on disk.

import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

/** Bounds of a release: a manifest of this size lists the product with room to spare. */
export const RELEASE_LIMITS = {
  manifestBytes: 4 * 1024 * 1024,
  files: 20_000,
  fileBytes: 512 * 1024 * 1024,
  totalBytes: 1024 * 1024 * 1024,
  pathChars: 400,
  pathDepth: 24,
  /** Left free on the product's file system after an install. */
  reserveBytes: 64 * 1024 * 1024,
} as const;

/** A version the product writes: MAJOR.MINOR.PATCH, with an optional pre-release label. */
const VERSION = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})(?:-([0-9A-Za-z][0-9A-Za-z.-]{0,31}))?$/;
/** The characters of a path inside a release. */
const PATH_CHARS = /^[A-Za-z0-9@_+./-]+$/;
const MAX_SEGMENT_CHARS = 128;

export const isVersion = (text: string) => VERSION.test(text);

/** A relative path of plain segments: no absolute path, no "..", no empty segment, bounded. */
export function isReleasePath(path: string): boolean {
  if (path.length === 0 || path.length > RELEASE_LIMITS.pathChars || !PATH_CHARS.test(path)) return false;
  const wrapped = `/${path}/`;
  // No empty segment (leading, trailing or doubled slash), no "." or ".." segment.
  if (wrapped.includes('//') || wrapped.includes('/./') || wrapped.includes('/../')) return false;
  let depth = 0;
  for (let start = 0; start <= path.length; depth++) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    if (end - start > MAX_SEGMENT_CHARS) return false;
    start = end + 1;
  }
  return depth <= RELEASE_LIMITS.pathDepth;
}

/** Compares two versions: negative when a < b. A pre-release sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const pa = VERSION.exec(a);
  const pb = VERSION.exec(b);
  if (!pa || !pb) throw new Error(`not a version: ${pa ? b : a}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  if (pa[4] === pb[4]) return 0;
  if (pa[4] === undefined) return 1;
  if (pb[4] === undefined) return -1;
  return pa[4] < pb[4] ? -1 : 1;
}

const version = z.string().check(z.refine(isVersion, 'not a version (MAJOR.MINOR.PATCH)'));

/** One file of the manifest. Checked by `fileProblem` (thousands of them: a plain loop, not a schema object each, keeps the check at start fast). */
export interface ReleaseFile {
  path: string;
  size: number;
  /** Permission bits only: 0644 or 0755 (no set-id bits, nothing writable by others). */
  mode: 0o644 | 0o755;
  sha256: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** What is wrong with one file entry (`field: problem`), or undefined. */
function fileProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ': not an object';
  const file = value as Record<string, unknown>;
  if (typeof file.path !== 'string' || !isReleasePath(file.path)) return '.path: not a safe relative path';
  if (!Number.isSafeInteger(file.size) || (file.size as number) < 0 || (file.size as number) > RELEASE_LIMITS.fileBytes) return `.size: not a size of 0..${RELEASE_LIMITS.fileBytes} bytes`;
  if (file.mode !== 0o644 && file.mode !== 0o755) return '.mode: not 0644 or 0755';
  if (typeof file.sha256 !== 'string' || !SHA256.test(file.sha256)) return '.sha256: not a SHA-256 in hex';
  return undefined;
}

export const manifestShape = z.object({
  format: z.literal(1),
  product: z.literal('platform-shell'),
  version,
  /** The store's latest migration in this release. */
  storeSchema: z.number().check(z.int(), z.minimum(1), z.maximum(100_000)),
  /** The oldest running version this release may be installed over. */
  upgradesFrom: version,
  node: z.string().check(z.regex(/^\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'not a Node version')),
  builtAt: z.iso.datetime(),
  /** The signing key's id (keyIdOf): which trusted key to check the signature with. */
  keyId: z.string().check(z.regex(/^[0-9a-f]{16}$/, 'not a key id')),
  /** Checked apart (fileProblem), bounded by RELEASE_LIMITS.files. */
  files: z.array(z.never()),
});

export type ReleaseManifest = Omit<z.infer<typeof manifestShape>, 'files'> & { files: ReleaseFile[] };

/** A release file or installed release that must not be used; the message says why, for a person. */
export class ReleaseRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function jsonOf(bytes: Buffer): unknown {
  if (bytes.length > RELEASE_LIMITS.manifestBytes) throw new ReleaseRefused('manifest-too-large', `the release's manifest is larger than ${RELEASE_LIMITS.manifestBytes} bytes`);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ReleaseRefused('manifest-malformed', "the release's manifest is not JSON");
  }
}

/** Parses and checks a manifest's bytes (shape, bounds, unique paths, no file under another file's name). */
export const parseManifest = (bytes: Buffer): ReleaseManifest => checkManifest(jsonOf(bytes));

function checkManifest(value: unknown): ReleaseManifest {
  const files = typeof value === 'object' && value !== null ? (value as { files?: unknown }).files : undefined;
  if (!Array.isArray(files)) throw new ReleaseRefused('manifest-malformed', "the release's manifest does not fit: files: not an array");
  if (files.length > RELEASE_LIMITS.files) throw new ReleaseRefused('manifest-malformed', `the release's manifest does not fit: files: more than ${RELEASE_LIMITS.files}`);
  const parsed = z.safeParse(manifestShape, { ...(value as object), files: [] });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ReleaseRefused('manifest-malformed', `the release's manifest does not fit: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  files.forEach((file, i) => {
    const problem = fileProblem(file);
    if (problem) throw new ReleaseRefused('manifest-malformed', `the release's manifest does not fit: files.${i}${problem}`);
  });
  const manifest = { ...parsed.data, files: files as ReleaseFile[] };
  const paths = new Set<string>();
  let total = 0;
  for (const file of manifest.files) {
    if (paths.has(file.path)) throw new ReleaseRefused('manifest-malformed', `the release's manifest lists ${file.path} twice`);
    paths.add(file.path);
    total += file.size;
  }
  if (total > RELEASE_LIMITS.totalBytes) throw new ReleaseRefused('too-large', `the release's files add up to more than ${RELEASE_LIMITS.totalBytes} bytes`);
  // A file whose name is another file's folder would have to replace it.
  for (const path of paths) {
    for (let at = path.indexOf('/'); at > 0; at = path.indexOf('/', at + 1)) {
      if (paths.has(path.slice(0, at))) throw new ReleaseRefused('manifest-malformed', `the release's manifest lists ${path} under the file ${path.slice(0, at)}`);
    }
  }
  return manifest;
}

/** A public key's id: the first 16 hex digits of the SHA-256 of its raw 32 bytes. */
export function keyIdOf(key: KeyObject): string {
  const raw = key.export({ format: 'jwk' }).x;
  if (key.asymmetricKeyType !== 'ed25519' || typeof raw !== 'string') throw new ReleaseRefused('key-invalid', 'not an Ed25519 public key');
  return createHash('sha256').update(Buffer.from(raw, 'base64url')).digest('hex').slice(0, 16);
}

/** Reads an Ed25519 public key from PEM text or the base64 of its DER (SPKI); a clear error otherwise. */
export function publicKeyFrom(text: string): KeyObject {
  let key: KeyObject;
  try {
    const trimmed = text.trim();
    key = trimmed.startsWith('-----BEGIN') ? createPublicKey(trimmed) : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new ReleaseRefused('key-invalid', 'not a public key (PEM, or the base64 of its DER form)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ReleaseRefused('key-invalid', `a release key is Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

export function signManifest(bytes: Buffer, privateKeyPem: string): Buffer {
  return sign(null, bytes, createPrivateKey(privateKeyPem));
}

/** Checks the signature against the trusted key the manifest names; throws ReleaseRefused otherwise. */
export const checkSignature = (bytes: Buffer, signature: Buffer, trusted: ReadonlyMap<string, KeyObject>): ReleaseManifest => checkManifest(signedValue(bytes, signature, trusted));

/** The manifest's JSON once its signature checks against the trusted key it names; its shape is not checked yet. */
export function signedValue(bytes: Buffer, signature: Buffer, trusted: ReadonlyMap<string, KeyObject>): unknown {
  // The key id is read before the signature is checked only to choose among trusted keys: nothing else is used yet.
  const value = jsonOf(bytes);
  const keyId = typeof value === 'object' && value !== null ? (value as { keyId?: unknown }).keyId : undefined;
  const key = typeof keyId === 'string' ? trusted.get(keyId) : undefined;
  if (!key) throw new ReleaseRefused('untrusted-key', `the release is signed by a key this node does not trust (${typeof keyId === 'string' ? keyId.slice(0, 16).replace(/[^0-9a-f]/g, '?') : 'none named'}); add it with "system release-key add" if you trust it`);
  if (signature.length !== 64 || !verify(null, bytes, key, signature)) throw new ReleaseRefused('bad-signature', "the release's signature does not match its manifest: the file was changed or damaged");
  return value;
}

/** Whether a release may replace the running version: never a downgrade, never past its oldest-from. */
export function checkUpgradePath(manifest: ReleaseManifest, running: string): void {
  const order = isVersion(running) ? compareVersions(manifest.version, running) : 1;
  if (order === 0) throw new ReleaseRefused('same-version', `release ${manifest.version} is the version running already`);
  if (order < 0) throw new ReleaseRefused('downgrade', `release ${manifest.version} is older than the running ${running}: a downgrade is refused (use "system rollback" to go back to the previous release)`);
  if (isVersion(running) && compareVersions(running, manifest.upgradesFrom) < 0) {
    throw new ReleaseRefused('too-old', `release ${manifest.version} upgrades from ${manifest.upgradesFrom} or later; this node runs ${running}: install an intermediate release first`);
  }
}
