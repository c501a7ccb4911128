// Secrets at rest (location passwords, SNMP communities and passwords, SMTP
// credentials in URIs, proxy credentials, tokens) are sealed before they
// reach the config store, with a key kept in a separate root-only file
// (<home>/store.key, mode 0400): a copy of config.db alone, or of its WAL,
// does not give them away.
//
// Format of a sealed value, as stored (text):
//   "sealed:" + base64( version (1 byte, 0x01)
//                     | nonce   (12 bytes, random per value)
//                     | tag     (16 bytes, AES-GCM authentication tag)
//                     | ciphertext (UTF-8 of the clear text) )
// Version 1 is AES-256-GCM (node:crypto) with the 32-byte key of store.key.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { failure } from '../core/errors.js';

export const SEALED_PREFIX = 'sealed:';
const VERSION = 0x01;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class Sealer {
  private constructor(private readonly key: Buffer) {}

  /**
   * The key of a store: read from `file`, or made (0400) when the file does
   * not exist yet. A key file of the wrong size is refused, never replaced:
   * a new key would make every sealed value unreadable.
   */
  static forKeyFile(file: string): Sealer {
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const key = randomBytes(KEY_BYTES);
      const out = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o400);
      try {
        fchmodSync(out, 0o400);
        writeSync(out, key);
      } finally {
        closeSync(out);
      }
      return new Sealer(key);
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size !== KEY_BYTES) throw failure('bad-store-key', `${file} is not a ${KEY_BYTES}-byte key file; restore it from the backup taken with config.db`);
      const key = Buffer.alloc(KEY_BYTES);
      if (readSync(fd, key, 0, KEY_BYTES, 0) !== KEY_BYTES) throw failure('bad-store-key', `${file} could not be read whole`);
      return new Sealer(key);
    } finally {
      closeSync(fd);
    }
  }

  /** A key in memory only, for tests and tools. */
  static ephemeral(): Sealer {
    return new Sealer(randomBytes(KEY_BYTES));
  }

  seal(clear: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The clear text of a sealed value; a value stored before sealing existed is returned as it is. */
  unseal(stored: string): string {
    if (!isSealed(stored)) return stored;
    const bytes = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64');
    if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== VERSION) throw failure('bad-sealed-value', 'a sealed value of the config store has an unknown format');
    const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
    const tag = bytes.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw failure('bad-sealed-value', 'a sealed value of the config store does not open with store.key (was the key replaced?)');
    }
  }
}

export const isSealed = (stored: string) => stored.startsWith(SEALED_PREFIX);
