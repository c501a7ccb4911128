// The plaintext inside a backup archive (before gzip and encryption): a
// sequence of entries, each
//
//   u32 big-endian  length L of the entry header (1..4096)
//   L bytes         entry header, JSON: {"name": "...", "size": N, "mode": M}
//   N bytes         the entry's content
//
// closed by a header {"end": true, "count": <number of entries>}. Names are
// relative paths of plain segments ([A-Za-z0-9._-], no "." or ".."), and a
// reader accepts only the names its caller allows, so an entry can never
// land outside the folder it is unpacked into.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { ArchiveError } from './crypto-stream.js';

const MAX_HEADER_BYTES = 4096;
export const MAX_ENTRIES = 10_000;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export interface EntrySource {
  name: string;
  mode: number;
  size: number;
  /** The content, read once while the archive is written. */
  content: () => AsyncIterable<Buffer> | Iterable<Buffer>;
}

export function isSafeEntryName(name: string): boolean {
  const segments = name.split('/');
  return name.length <= 1024 && segments.length <= 16 && segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
}

function headerBytes(value: object): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json]);
}

/** The plaintext stream of an archive: each entry's header and content, then the end marker. */
export async function* writeEntries(entries: AsyncIterable<EntrySource> | Iterable<EntrySource>): AsyncGenerator<Buffer> {
  let count = 0;
  for await (const entry of entries) {
    if (!isSafeEntryName(entry.name)) throw new Error(`unsafe entry name ${entry.name}`);
    yield headerBytes({ name: entry.name, size: entry.size, mode: entry.mode & 0o777 });
    let written = 0;
    for await (const chunk of entry.content()) {
      written += chunk.length;
      if (written > entry.size) throw new Error(`${entry.name} grew while it was archived`);
      yield chunk;
    }
    if (written !== entry.size) throw new Error(`${entry.name} changed size while it was archived`);
    count++;
  }
  yield headerBytes({ end: true, count });
}

export interface ReadLimits {
  /** Total content bytes accepted. */
  maxBytes: number;
  /** Bytes the folder unpacked into can take (its free space less a reserve): the declared sizes, added up as they come, must fit. */
  room?: number;
  /** Where an entry may go: a path under `into`, or undefined to refuse the archive. */
  place(name: string): string | undefined;
}

/** The entries declare more than the folder they are unpacked into can take, or a write there failed for lack of room. */
export class NoRoomError extends Error {
  constructor(message: string) {
    super(message);
  }
}

/**
 * One entry's file being written. A write stream that failed (ENOSPC, EIO)
 * emits 'error' and 'close' but never 'drain': every wait here also ends on
 * those, so the reader always returns.
 */
class EntryFile {
  failure: Error | undefined;
  closed = false;
  private constructor(readonly out: WriteStream) {
    out.on('error', (error) => (this.failure ??= error));
    out.once('close', () => (this.closed = true));
  }

  static async open(file: string, mode: number): Promise<EntryFile> {
    // 'wx': never follow or replace anything already there.
    const entry = new EntryFile(createWriteStream(file, { flags: 'wx', mode }));
    await entry.until('open');
    return entry;
  }

  /** Waits for `event`, or for the stream to fail or close first; throws its failure. */
  private until(event: 'open' | 'drain' | 'finish'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        this.out.off(event, settle);
        this.out.off('error', settle);
        this.out.off('close', settle);
        if (this.failure) reject(this.failure);
        else if (event !== 'finish' && this.closed) reject(new Error('the file was closed while it was written'));
        else resolve();
      };
      if (this.failure || this.closed) return settle();
      this.out.once(event, settle);
      this.out.once('error', settle);
      this.out.once('close', settle);
    });
  }

  async write(piece: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(piece)) await this.until('drain');
  }

  async finish(): Promise<void> {
    const finished = this.until('finish');
    this.out.end();
    await finished;
  }

  abandon(): void {
    this.out.destroy();
  }
}

/**
 * Unpacks entries from a plaintext stream into files under the paths
 * `place` gives. Refuses (ArchiveError) anything malformed, oversized or
 * unexpected, and (NoRoomError) what the folder has no room for; a failed
 * write ends it too. The caller removes what was written when it throws.
 */
export async function readEntries(stream: AsyncIterable<Buffer>, limits: ReadLimits): Promise<{ name: string; file: string; size: number }[]> {
  const done: { name: string; file: string; size: number }[] = [];
  let buffered: Buffer = Buffer.alloc(0);
  let current: { name: string; file: string; size: number; left: number; out: EntryFile } | undefined;
  let total = 0;
  let ended = false;
  const malformed = (why: string) => new ArchiveError('malformed', `the archive's content is malformed: ${why}`);

  try {
    for await (const chunk of stream) {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      for (;;) {
        if (ended) {
          if (buffered.length) throw malformed('bytes after the end marker');
          break;
        }
        if (current) {
          const take = Math.min(current.left, buffered.length);
          if (take > 0) {
            const piece = buffered.subarray(0, take);
            buffered = buffered.subarray(take);
            current.left -= take;
            await current.out.write(piece).catch((error) => {
              throw writeFailure(error as NodeJS.ErrnoException, current!.name);
            });
          }
          if (current.left > 0) break;
          await current.out.finish().catch((error) => {
            throw writeFailure(error as NodeJS.ErrnoException, current!.name);
          });
          done.push({ name: current.name, file: current.file, size: current.size });
          current = undefined;
          continue;
        }
        if (buffered.length < 4) break;
        const length = buffered.readUInt32BE(0);
        if (length < 2 || length > MAX_HEADER_BYTES) throw malformed('an entry header is out of bounds');
        if (buffered.length < 4 + length) break;
        let header: Record<string, unknown>;
        try {
          header = JSON.parse(buffered.subarray(4, 4 + length).toString()) as Record<string, unknown>;
        } catch {
          throw malformed('an entry header is not JSON');
        }
        buffered = buffered.subarray(4 + length);
        if (header.end === true) {
          if (header.count !== done.length) throw malformed('the entry count does not match');
          ended = true;
          continue;
        }
        const { name, size, mode } = header;
        if (typeof name !== 'string' || !isSafeEntryName(name)) throw malformed('an entry has an unsafe name');
        if (!Number.isSafeInteger(size) || (size as number) < 0) throw malformed(`${name} has a bad size`);
        if (!Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o777) throw malformed(`${name} has a bad mode`);
        if (done.length >= MAX_ENTRIES) throw malformed('too many entries');
        if (done.some((d) => d.name === name)) throw malformed(`${name} appears twice`);
        total += size as number;
        if (total > limits.maxBytes) throw new ArchiveError('too-large', `the archive's content exceeds ${limits.maxBytes} bytes`);
        // Checked as each size is declared, before a byte of it is written.
        if (limits.room !== undefined && total > limits.room) throw new NoRoomError(`its entries declare ${total} bytes so far (${name} alone ${size as number}), more than the ${Math.max(0, limits.room)} bytes the data folder can take`);
        const file = limits.place(name);
        if (!file) throw malformed(`unexpected entry ${name}`);
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        const out = await EntryFile.open(file, (mode as number) & 0o755).catch((error) => {
          throw writeFailure(error as NodeJS.ErrnoException, name);
        });
        current = { name, file, size: size as number, left: size as number, out };
      }
    }
    if (current) throw new ArchiveError('truncated', `the archive ends inside ${current.name}`);
    if (!ended) throw new ArchiveError('truncated', 'the archive ends before its end marker');
    return done;
  } finally {
    // Cancelled, refused or failed: no descriptor stays open on a file the caller removes.
    current?.out.abandon();
  }
}

/** A write that failed: lack of room is said as such, anything else names the entry. */
function writeFailure(error: NodeJS.ErrnoException, name: string): Error {
  if (error.code === 'ENOSPC' || error.code === 'EDQUOT') return new NoRoomError(`writing ${name} failed: ${error.code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on the device'}`);
  return Object.assign(new Error(`writing ${name} failed: ${error.code ?? error.message}`), { code: error.code });
}

/** A path under `root` for an entry name already checked by isSafeEntryName. */
export const under = (root: string, name: string) => join(root, ...name.split('/'));
