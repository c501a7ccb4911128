// A backup's name and its manifest. The manifest sits unencrypted beside the
// archive so that `backup list` can say what a location holds without the
// key; a copy of it also travels inside the encrypted archive, and a restore
// or verify requires the two to agree. Everything read back from a location
// is hostile: names are matched against one pattern before they are used,
// and a manifest is size-bounded and checked field by field.

export const ARCHIVE_EXT = 'psbk';
export const MANIFEST_SUFFIX = '.manifest.json';
export const MAX_MANIFEST_BYTES = 16 * 1024;
export const MANIFEST_FORMAT = 'platform-shell-backup';

/** `<hostname>-<YYYYMMDDTHHMMSSZ>.psbk`; hostnames are DNS labels joined by dots. */
const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)-(\d{8}T\d{6}Z)\.psbk$/;

export interface BackupName {
  name: string;
  hostname: string;
  /** ISO 8601 time the name carries. */
  time: string;
}

export function backupName(hostname: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${hostname}-${stamp}.${ARCHIVE_EXT}`;
}

/** Parses a name found at a location; undefined for anything that is not a backup's name. */
export function parseBackupName(name: string): BackupName | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const s = match[2]!;
  const time = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`;
  if (Number.isNaN(Date.parse(time))) return undefined;
  return { name, hostname: match[1]!, time };
}

export const manifestName = (archive: string) => `${archive}${MANIFEST_SUFFIX}`;

/** What a backup is, outside and inside the archive. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  archive: string;
  node: string;
  roles: string[];
  productVersion: string;
  /** The config store's schema version (store/migrations.ts). */
  schemaVersion: number;
  createdAt: string;
  /** Backup key id (hex), to tell a wrong key before downloading. */
  keyId: string;
  /** Outside copy only: the encrypted archive's size and SHA-256. */
  size?: number;
  sha256?: string;
}

export class ManifestError extends Error {}

const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** Checks a manifest read from anywhere; throws ManifestError naming the first bad field. */
export function parseManifest(text: Buffer | string, outside: boolean): Manifest {
  if (text.length > MAX_MANIFEST_BYTES) throw new ManifestError(`manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text.toString());
  } catch {
    throw new ManifestError('manifest is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ManifestError('manifest is not an object');
  const m = value as Record<string, unknown>;
  const bad = (field: string) => new ManifestError(`manifest field "${field}" is missing or malformed`);
  if (m.format !== MANIFEST_FORMAT) throw bad('format');
  if (m.version !== 1) throw new ManifestError(`manifest version ${String(m.version)} is not one this product reads`);
  if (!isString(m.archive, 300) || !parseBackupName(m.archive)) throw bad('archive');
  if (!isString(m.node, 253) || parseBackupName(`${m.node}-20000101T000000Z.${ARCHIVE_EXT}`)?.hostname !== m.node) throw bad('node');
  if (!Array.isArray(m.roles) || m.roles.length > 8 || !m.roles.every((r) => isString(r, 32) && /^[a-z]+$/.test(r))) throw bad('roles');
  if (!isString(m.productVersion, 64) || !/^[A-Za-z0-9.+-]+$/.test(m.productVersion)) throw bad('productVersion');
  if (!Number.isInteger(m.schemaVersion) || (m.schemaVersion as number) < 1 || (m.schemaVersion as number) > 1_000_000) throw bad('schemaVersion');
  if (!isString(m.createdAt, 40) || Number.isNaN(Date.parse(m.createdAt))) throw bad('createdAt');
  if (!isString(m.keyId, 16) || !/^[0-9a-f]{16}$/.test(m.keyId)) throw bad('keyId');
  if (outside) {
    if (!Number.isSafeInteger(m.size) || (m.size as number) < 0) throw bad('size');
    if (!isString(m.sha256, 64) || !/^[0-9a-f]{64}$/.test(m.sha256)) throw bad('sha256');
  }
  const known = ['format', 'version', 'archive', 'node', 'roles', 'productVersion', 'schemaVersion', 'createdAt', 'keyId', ...(outside ? ['size', 'sha256'] : [])];
  const extra = Object.keys(m).find((k) => !known.includes(k));
  if (extra) throw new ManifestError(`manifest has an unknown field "${extra.slice(0, 40)}"`);
  return m as unknown as Manifest;
}

/** The fields both copies carry, which must be equal. */
export function sameBackup(outside: Manifest, inside: Manifest): string | undefined {
  for (const field of ['archive', 'node', 'productVersion', 'schemaVersion', 'createdAt', 'keyId'] as const) {
    if (outside[field] !== inside[field]) return field;
  }
  if (outside.roles.join(',') !== inside.roles.join(',')) return 'roles';
  return undefined;
}
