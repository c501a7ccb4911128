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
import type { Readable } from 'node:stream';
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
  /** Where an entry may go: a path under `into`, or undefined to refuse the archive. */
  place(name: string): string | undefined;
}

/**
 * Unpacks entries from a plaintext stream into files under the paths
 * `place` gives. Refuses (ArchiveError) anything malformed, oversized or
 * unexpected; the caller removes what was written when it throws.
 */
export async function readEntries(stream: Readable, limits: ReadLimits): Promise<{ name: string; file: string; size: number }[]> {
  const done: { name: string; file: string; size: number }[] = [];
  let buffered: Buffer = Buffer.alloc(0);
  let current: { name: string; file: string; size: number; left: number; out: WriteStream } | undefined;
  let total = 0;
  let ended = false;
  const malformed = (why: string) => new ArchiveError('malformed', `the archive's content is malformed: ${why}`);

  const finish = async (out: WriteStream) =>
    new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });

  for await (const chunk of stream as AsyncIterable<Buffer>) {
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
          if (!current.out.write(piece)) await new Promise<void>((r) => current!.out.once('drain', () => r()));
        }
        if (current.left > 0) break;
        await finish(current.out);
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
      const file = limits.place(name);
      if (!file) throw malformed(`unexpected entry ${name}`);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // 'wx': never follow or replace anything already there.
      const out = createWriteStream(file, { flags: 'wx', mode: (mode as number) & 0o755 });
      await new Promise<void>((resolve, reject) => {
        out.once('open', () => resolve());
        out.once('error', reject);
      });
      current = { name, file, size: size as number, left: size as number, out };
    }
  }
  if (current) {
    current.out.destroy();
    throw new ArchiveError('truncated', `the archive ends inside ${current.name}`);
  }
  if (!ended) throw new ArchiveError('truncated', 'the archive ends before its end marker');
  return done;
}

/** A path under `root` for an entry name already checked by isSafeEntryName. */
export const under = (root: string, name: string) => join(root, ...name.split('/'));
