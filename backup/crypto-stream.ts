// The encryption of a backup archive: AES-256-GCM from node:crypto, applied
// to fixed-size chunks ("STREAM" construction), so an archive of any size is
// encrypted and authenticated without holding it in memory, and truncation,
// reordering or a flipped byte anywhere is detected. Nothing here invents a
// primitive: AES-256-GCM, HKDF-SHA256 and SHA-256 are node:crypto's.
//
// Encrypted archive layout (all integers big-endian):
//
//   offset size  field
//   0      8     magic "PSBACKUP"
//   8      1     format version = 1
//   9      3     reserved, zero
//   12     4     plaintext chunk size C (65536)
//   16     8     key id: SHA-256("platform-shell backup key id" || key)[0..8]
//                (tells "wrong key" apart from "tampered" before decrypting)
//   24     32    salt, random per archive
//   56     ...   records
//
//   archive key = HKDF-SHA256(ikm = node backup key, salt, info = "platform-shell backup v1", 32 bytes)
//   record i    = AES-256-GCM(archive key, nonce_i, aad = the 56-byte header, plaintext chunk i) || 16-byte tag
//   nonce_i     = 11-byte big-endian i || 1 byte: 1 for the last record, else 0
//
// Every record but the last holds exactly C plaintext bytes; the last holds
// 0..C bytes and is always present (an empty one when the plaintext is a
// multiple of C). A reader therefore knows a record is the last only at end
// of file, and a file cut at a record boundary fails the last record's tag.

import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const MAGIC = Buffer.from('PSBACKUP');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 56;
export const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const RECORD_BYTES = CHUNK_BYTES + TAG_BYTES;
export const KEY_BYTES = 32;

/** Why an archive cannot be read; the message is for a person. */
export class ArchiveError extends Error {
  constructor(
    readonly reason: 'not-an-archive' | 'unsupported-version' | 'wrong-key' | 'tampered' | 'truncated' | 'too-large' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

export function keyId(key: Buffer): Buffer {
  return createHash('sha256').update('platform-shell backup key id').update(key).digest().subarray(0, 8);
}

function archiveKey(key: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, 'platform-shell backup v1', KEY_BYTES));
}

function nonce(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 3);
  n[11] = last ? 1 : 0;
  return n;
}

/** Encrypts a plaintext stream into the layout above. */
export function encryptStream(key: Buffer): Transform {
  if (key.length !== KEY_BYTES) throw new Error('a backup key is 32 bytes');
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[8] = FORMAT_VERSION;
  header.writeUInt32BE(CHUNK_BYTES, 12);
  keyId(key).copy(header, 16);
  const salt = randomBytes(32);
  salt.copy(header, 24);
  const derived = archiveKey(key, salt);
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const seal = (plain: Buffer, last: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', derived, nonce(index++, last));
    cipher.setAAD(header);
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  };
  return new Transform({
    construct(callback) {
      this.push(header);
      callback();
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Keep at least one byte back: the last record is sealed in flush.
      if (pendingBytes > CHUNK_BYTES) {
        let all = Buffer.concat(pending);
        while (all.length > CHUNK_BYTES) {
          this.push(seal(all.subarray(0, CHUNK_BYTES), false));
          all = all.subarray(CHUNK_BYTES);
        }
        pending = [all];
        pendingBytes = all.length;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      this.push(seal(Buffer.concat(pending), true));
      callback();
    },
  });
}

/** Parses and checks the header; throws ArchiveError. */
export function readHeader(header: Buffer, key: Buffer): { salt: Buffer } {
  if (header.length < HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) throw new ArchiveError('not-an-archive', 'not a platform backup archive');
  if (header[8] !== FORMAT_VERSION) throw new ArchiveError('unsupported-version', `archive format ${header[8]} is newer than this product reads (${FORMAT_VERSION})`);
  if (header.readUInt32BE(12) !== CHUNK_BYTES || header.subarray(9, 12).some((b) => b !== 0)) throw new ArchiveError('malformed', 'the archive header is malformed');
  if (!header.subarray(16, 24).equals(keyId(key))) throw new ArchiveError('wrong-key', "the archive was encrypted with another backup key than this node's");
  return { salt: Buffer.from(header.subarray(24, 56)) };
}

/** Decrypts and authenticates; every byte it emits has passed its record's tag. */
export function decryptStream(key: Buffer): Transform {
  let header: Buffer | undefined;
  let derived: Buffer | undefined;
  let buffered: Buffer = Buffer.alloc(0);
  let index = 0;
  const open = (record: Buffer, last: boolean): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', derived!, nonce(index++, last));
    decipher.setAAD(header!);
    decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw last
        ? new ArchiveError('truncated', 'the archive is truncated or was altered (its last record does not authenticate)')
        : new ArchiveError('tampered', `the archive was altered (record ${index - 1} does not authenticate)`);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
        if (!header) {
          if (buffered.length < HEADER_BYTES) return callback();
          header = Buffer.from(buffered.subarray(0, HEADER_BYTES));
          derived = archiveKey(key, readHeader(header, key).salt);
          buffered = buffered.subarray(HEADER_BYTES);
        }
        // A record is known not to be the last only when more bytes follow it.
        while (buffered.length > RECORD_BYTES) {
          this.push(open(buffered.subarray(0, RECORD_BYTES), false));
          buffered = buffered.subarray(RECORD_BYTES);
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (!header) throw buffered.length && !buffered.subarray(0, Math.min(8, buffered.length)).equals(MAGIC.subarray(0, Math.min(8, buffered.length))) ? new ArchiveError('not-an-archive', 'not a platform backup archive') : new ArchiveError('truncated', 'the archive is truncated (no complete header)');
        if (buffered.length < TAG_BYTES) throw new ArchiveError('truncated', 'the archive is truncated');
        this.push(open(buffered, true));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
