// The public keys a release may be signed with, one PEM file each in
// <product root>/trusted-keys/<id>.pem. The image carries the release
// signer's key; `system release-key add|del` rotates them. The folder lives
// outside the releases, so a rollback or a restored store never changes which
// keys the node trusts.

import { type KeyObject } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProductRoot } from './layout.js';
import { keyIdOf, publicKeyFrom, ReleaseRefused } from './manifest.js';

const KEY_FILE = /^([0-9a-f]{16})\.pem$/;
const MAX_KEY_FILE_BYTES = 4096;
export const MAX_TRUSTED_KEYS = 32;

export interface TrustedKey {
  id: string;
  key: KeyObject;
}

/** The trusted keys by id; a file that is not one (wrong name, size, type, or an id that does not match) is skipped. */
export function trustedKeys(product: ProductRoot): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  let names: string[] = [];
  try {
    names = readdirSync(product.keys).sort();
  } catch {
    return keys;
  }
  for (const name of names) {
    const match = KEY_FILE.exec(name);
    if (!match) continue;
    try {
      const path = join(product.keys, name);
      const stat = lstatSync(path);
      if (!stat.isFile() || stat.size > MAX_KEY_FILE_BYTES) continue;
      const key = publicKeyFrom(readFileSync(path, 'utf8'));
      if (keyIdOf(key) === match[1]) keys.set(match[1]!, key);
    } catch {
      // not a key: ignored, as if absent
    }
  }
  return keys;
}

/** Adds a key (PEM or base64 DER text); returns its id. Adding a key already trusted changes nothing. */
export function addTrustedKey(product: ProductRoot, text: string): { id: string; added: boolean } {
  if (text.length > MAX_KEY_FILE_BYTES) throw new ReleaseRefused('key-invalid', `a public key is at most ${MAX_KEY_FILE_BYTES} characters`);
  const key = publicKeyFrom(text);
  const id = keyIdOf(key);
  const keys = trustedKeys(product);
  if (keys.has(id)) return { id, added: false };
  if (keys.size >= MAX_TRUSTED_KEYS) throw new ReleaseRefused('too-many-keys', `the node trusts ${MAX_TRUSTED_KEYS} keys already: delete one first`);
  mkdirSync(product.keys, { recursive: true, mode: 0o755 });
  const file = join(product.keys, `${id}.pem`);
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, key.export({ format: 'pem', type: 'spki' }).toString(), { mode: 0o644 });
  renameSync(temp, file);
  return { id, added: true };
}

/** Removes a trusted key; never the last one (the node could then install no release at all). */
export function deleteTrustedKey(product: ProductRoot, id: string): void {
  const keys = trustedKeys(product);
  if (!keys.has(id)) throw new ReleaseRefused('no-such-key', `no trusted release key has the id ${id} (see "system release-key list")`);
  if (keys.size === 1) throw new ReleaseRefused('last-key', `${id} is the last trusted release key: add its successor first ("system release-key add"), then delete it; without a key the node could install no release`);
  rmSync(join(product.keys, `${id}.pem`));
}
