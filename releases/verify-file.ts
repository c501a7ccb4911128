// Checking a whole release file without installing it: its signed manifest
// (releases/container.ts) and, streamed once, the SHA-256 of every file it
// carries and of the file itself. `cluster upgrade` checks a release so on
// the primary before handing it to any member, and each member checks it so
// again on arrival, against its own trusted keys.

import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readSignedManifest } from './container.js';
import { ReleaseRefused, type ReleaseManifest } from './manifest.js';

export interface CheckedReleaseFile {
  manifest: ReleaseManifest;
  /** The SHA-256 of the whole file, which a transfer is checked against. */
  sha256: string;
  size: number;
}

/** Throws ReleaseRefused unless every byte of the file is what its signed manifest says. */
export async function verifyReleaseFile(file: string, trusted: ReadonlyMap<string, KeyObject>): Promise<CheckedReleaseFile> {
  const { manifest, header, size } = await readSignedManifest(file, trusted);
  const whole = createHash('sha256');
  let index = 0;
  let left = manifest.files[0]?.size ?? 0;
  let hash = createHash('sha256');
  const closeFinished = () => {
    while (index < manifest.files.length && left === 0) {
      if (hash.digest('hex') !== manifest.files[index]!.sha256) throw new ReleaseRefused('hash-mismatch', `${manifest.files[index]!.path} in the release does not match its signed hash: the file was changed or damaged`);
      hash = createHash('sha256');
      index++;
      left = manifest.files[index]?.size ?? 0;
    }
  };
  let position = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    // The header is covered by the signature; only the contents are hashed file by file.
    let piece = position >= header.contentOffset ? chunk : chunk.subarray(Math.min(chunk.length, header.contentOffset - position));
    position += chunk.length;
    closeFinished();
    while (piece.length > 0) {
      const take = Math.min(left, piece.length);
      hash.update(piece.subarray(0, take));
      left -= take;
      piece = piece.subarray(take);
      closeFinished();
    }
  }
  closeFinished();
  return { manifest, sha256: whole.digest('hex'), size };
}
