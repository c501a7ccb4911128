// The node's backup key: 32 random bytes in a root-only file under etc/.
// It never enters the config store (which is itself backed up) and never
// reaches a log. `backup key show` prints it once, for the administrator to
// keep offline; a fresh node restoring a backup is given it by `import`.

import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../core/paths.js';
import { KEY_BYTES, keyId } from './crypto-stream.js';

/** How a key is written for a person: a prefix naming it, then base64url. */
const TEXT_PREFIX = 'psbk1-';

const keyDir = (paths: Paths) => join(paths.etc, 'backup');
export const keyFile = (paths: Paths) => join(keyDir(paths), 'backup.key');
const shownMarker = (paths: Paths) => join(keyDir(paths), 'backup.key.shown');

export const keyText = (key: Buffer) => `${TEXT_PREFIX}${key.toString('base64url')}`;
export const keyFingerprint = (key: Buffer) => keyId(key).toString('hex');

/** Parses a key as `show` prints it; undefined when it is not one. */
export function parseKeyText(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith(TEXT_PREFIX) || !/^[A-Za-z0-9_-]{43}$/.test(trimmed.slice(TEXT_PREFIX.length))) return undefined;
  const key = Buffer.from(trimmed.slice(TEXT_PREFIX.length), 'base64url');
  return key.length === KEY_BYTES ? key : undefined;
}

export function readKey(paths: Paths): Buffer | undefined {
  if (!existsSync(keyFile(paths))) return undefined;
  return parseKeyText(readFileSync(keyFile(paths), 'utf8'));
}

/** Writes the key root-only, durably, replacing any previous one in one rename. */
export function writeKey(paths: Paths, key: Buffer, shown: boolean): void {
  mkdirSync(keyDir(paths), { recursive: true, mode: 0o700 });
  const temp = `${keyFile(paths)}.new`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, keyText(key) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, keyFile(paths));
  if (shown) writeFileSync(shownMarker(paths), new Date().toISOString() + '\n', { mode: 0o600 });
  else rmSync(shownMarker(paths), { force: true });
}

export function generateKey(paths: Paths): Buffer {
  const key = randomBytes(KEY_BYTES);
  writeKey(paths, key, false);
  return key;
}

/** When the key was shown, if it was. */
export function shownAt(paths: Paths): string | undefined {
  return existsSync(shownMarker(paths)) ? readFileSync(shownMarker(paths), 'utf8').trim() : undefined;
}

export function markShown(paths: Paths): void {
  writeFileSync(shownMarker(paths), new Date().toISOString() + '\n', { mode: 0o600 });
}
