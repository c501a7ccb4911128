// The release file, `platform-<version>.psup`, byte by byte:
//
//   8 bytes   magic "PSUP" 0x00 0x01 "\r\n" (format 1; the CR LF catches a text-mode copy)
//   u32 BE    length M of the manifest (1 .. 4 MiB)
//   M bytes   the manifest, JSON (releases/manifest.ts)
//   u32 BE    length S of the signature (64)
//   S bytes   Ed25519 signature of the M manifest bytes
//   then      every file's content, in the manifest's order, back to back; nothing after the last.
//
// A file's place in the release comes only from the manifest, so nothing can
// land outside it; the reader checks the signature before it writes a byte,
// then each file's size and hash as it streams, and refuses trailing bytes.

import { createHash, type KeyObject } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fsyncSync, openSync, readSync, rmSync, writeSync, type WriteStream } from 'node:fs';
import { chmod, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { checkSignature, parseManifest, RELEASE_LIMITS, ReleaseRefused, signManifest, type ReleaseFile, type ReleaseManifest } from './manifest.js';

export const MAGIC = Buffer.from('PSUP\x00\x01\r\n', 'latin1');
export const RELEASE_SUFFIX = '.psup';
export const releaseFileName = (version: string) => `platform-${version}${RELEASE_SUFFIX}`;

/** Where the header ends and the contents begin, with the manifest and signature it holds. */
export interface ReleaseHeader {
  manifestBytes: Buffer;
  signature: Buffer;
  contentOffset: number;
}

async function readExactly(handle: FileHandle, length: number, position: number, what: string): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new ReleaseRefused('truncated', `the release file ends inside its ${what}`);
  return buffer;
}

export async function readHeader(handle: FileHandle): Promise<ReleaseHeader> {
  const magic = await readExactly(handle, MAGIC.length, 0, 'header');
  if (!magic.equals(MAGIC)) throw new ReleaseRefused('not-a-release', 'not a platform release file (.psup)');
  let at = MAGIC.length;
  const manifestLength = (await readExactly(handle, 4, at, 'header')).readUInt32BE(0);
  at += 4;
  if (manifestLength < 2 || manifestLength > RELEASE_LIMITS.manifestBytes) throw new ReleaseRefused('manifest-too-large', `the release's manifest length is out of bounds (at most ${RELEASE_LIMITS.manifestBytes} bytes)`);
  const manifestBytes = await readExactly(handle, manifestLength, at, 'manifest');
  at += manifestLength;
  const signatureLength = (await readExactly(handle, 4, at, 'signature')).readUInt32BE(0);
  at += 4;
  if (signatureLength !== 64) throw new ReleaseRefused('bad-signature', 'the release has no Ed25519 signature');
  const signature = await readExactly(handle, signatureLength, at, 'signature');
  return { manifestBytes, signature, contentOffset: at + signatureLength };
}

/** The checked manifest of a release file: magic, bounds, signature by a trusted key, shape. Reads only the header. */
export async function readSignedManifest(file: string, trusted: ReadonlyMap<string, KeyObject>): Promise<{ manifest: ReleaseManifest; header: ReleaseHeader; size: number }> {
  const handle = await open(file, 'r');
  try {
    const header = await readHeader(handle);
    const manifest = checkSignature(header.manifestBytes, header.signature, trusted);
    const size = (await handle.stat()).size;
    const declared = header.contentOffset + manifest.files.reduce((sum, f) => sum + f.size, 0);
    if (size < declared) throw new ReleaseRefused('truncated', `the release file is ${size} bytes, shorter than the ${declared} its manifest declares`);
    if (size > declared) throw new ReleaseRefused('extra-content', `the release file holds ${size - declared} bytes its manifest does not list`);
    return { manifest, header, size };
  } finally {
    await handle.close();
  }
}

/** Ends a write stream and waits until its descriptor is closed; its error, if any, is thrown. */
async function finish(out: WriteStream): Promise<void> {
  out.end();
  await once(out, 'close');
  if (out.errored) throw out.errored;
}

/**
 * Streams the contents of a release file whose manifest is already checked
 * into `into` (a fresh folder), checking every file's size and SHA-256 as it
 * goes. Throws ReleaseRefused on a mismatch; the caller removes `into`.
 */
export async function unpackContents(file: string, header: ReleaseHeader, manifest: ReleaseManifest, into: string, progress: (bytes: number) => void = () => {}): Promise<void> {
  const files = manifest.files;
  let index = 0;
  let left = files[0]?.size ?? 0;
  let hash = createHash('sha256');
  let out: WriteStream | undefined;
  let done = 0;
  const openNext = async () => {
    const entry = files[index]!;
    const path = join(into, ...entry.path.split('/'));
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    await once(out, 'open');
  };
  const close = async (entry: ReleaseFile) => {
    if (out) await finish(out);
    out = undefined;
    const digest = hash.digest('hex');
    if (digest !== entry.sha256) throw new ReleaseRefused('hash-mismatch', `${entry.path} in the release does not match its signed hash: the file was changed or damaged`);
    await chmod(join(into, ...entry.path.split('/')), entry.mode);
    hash = createHash('sha256');
  };
  try {
    // Empty files at the start (and between) are closed as soon as they are reached.
    const settleEmpty = async () => {
      while (index < files.length && left === 0) {
        await openNext();
        await close(files[index]!);
        index++;
        left = files[index]?.size ?? 0;
      }
    };
    await settleEmpty();
    for await (const chunk of createReadStream(file, { start: header.contentOffset, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let piece = chunk;
      while (piece.length > 0) {
        if (index >= files.length) throw new ReleaseRefused('extra-content', 'the release file holds bytes after its last file');
        if (!out) await openNext();
        const take = Math.min(left, piece.length);
        const part = piece.subarray(0, take);
        hash.update(part);
        if (!out!.write(part)) await once(out!, 'drain');
        piece = piece.subarray(take);
        left -= take;
        done += take;
        if (left === 0) {
          await close(files[index]!);
          index++;
          left = files[index]?.size ?? 0;
          await settleEmpty();
        }
      }
      progress(done);
    }
    if (index < files.length) throw new ReleaseRefused('truncated', `the release file ends inside ${files[index]!.path}`);
  } finally {
    out?.destroy();
  }
}

/** A file to put into a release: where it is read from (or its bytes), its place and mode. */
export interface ReleaseSource {
  path: string;
  mode: 0o644 | 0o755;
  from: string | Buffer;
}

/** Reads a source in pieces of at most 4 MiB (sync: a build tool, and thousands of small files). */
function* piecesOf(source: ReleaseSource): Generator<Buffer> {
  if (typeof source.from !== 'string') {
    yield source.from;
    return;
  }
  const fd = openSync(source.from, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** Writes a signed release file from its sources; the manifest's facts are the caller's. */
export function writeRelease(out: string, facts: Omit<ReleaseManifest, 'files' | 'format' | 'product'>, sources: readonly ReleaseSource[], privateKeyPem: string): ReleaseManifest {
  const files: ReleaseFile[] = sources.map((source) => {
    const hash = createHash('sha256');
    let size = 0;
    for (const piece of piecesOf(source)) {
      hash.update(piece);
      size += piece.length;
    }
    return { path: source.path, mode: source.mode, size, sha256: hash.digest('hex') };
  });
  const manifest: ReleaseManifest = { format: 1, product: 'platform-shell', ...facts, files };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  parseManifest(manifestBytes); // what a node would refuse is never written
  const signature = signManifest(manifestBytes, privateKeyPem);
  const fd = openSync(out, 'wx', 0o644);
  try {
    writeSync(fd, Buffer.concat([MAGIC, u32(manifestBytes.length), manifestBytes, u32(signature.length), signature]));
    for (const [i, source] of sources.entries()) {
      let size = 0;
      for (const piece of piecesOf(source)) {
        size += piece.length;
        writeSync(fd, piece);
      }
      if (size !== files[i]!.size) throw new Error(`${source.path} changed while the release was written`);
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(out, { force: true });
    throw error;
  }
  closeSync(fd);
  return manifest;
}
