// Files the daemon reads on someone else's say-so (uploads in media/, paths
// given on the command line) are opened once and checked through the open
// descriptor: no look-then-open by name, which a swap between the two steps
// defeats. O_NOFOLLOW refuses a link, O_NONBLOCK keeps a FIFO (or a device)
// from blocking the daemon at open, fstat on the descriptor says what was
// actually opened, and the read stops at the size bound even if the file
// grows meanwhile.
//
// Files the daemon writes are written aside and renamed into place, inside
// their folder only, with their mode set on the descriptor (the daemon's
// umask is 077, so a file meant to be readable by others says so here).

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { badInput } from '../core/errors.js';
import { fileIn } from './names.js';

export interface ReadBounds {
  /** Refused beyond this many bytes, before any is read. */
  maxBytes: number;
  /** How the file is named in messages, e.g. "media/cert.pem". */
  label: string;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

const sizeText = (bytes: number) => (bytes >= 1024 * 1024 ? `${+(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${+(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`);

/**
 * Reads a regular file of at most `maxBytes`, checked through its descriptor.
 * Every refusal is a bad-input error with a message a person can act on.
 */
export async function readBoundedFile(path: string, { maxBytes, label }: ReadBounds): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw badInput('no-such-file', `${label} does not exist`);
    if (code === 'ELOOP') throw badInput('symlink', `${label} is a symbolic link; upload the file itself`);
    if (code === 'EISDIR') throw badInput('is-directory', `${label} is a folder, not a file`);
    if (code === 'EACCES' || code === 'EPERM') throw badInput('not-readable', `${label} cannot be read (permission denied)`);
    throw badInput('not-readable', `${label} cannot be opened (${code ?? (error as Error).message})`);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw badInput('is-directory', `${label} is a folder, not a file`);
    if (!stat.isFile()) throw badInput('not-a-file', `${label} is not a regular file (a FIFO, socket or device is refused)`);
    if (stat.size > maxBytes) throw badInput('too-large', `${label} is ${stat.size} bytes; at most ${sizeText(maxBytes)} is accepted`);
    // One byte more than allowed tells a file that grew after fstat from one that did not.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buffer.length) break;
    }
    if (filled > maxBytes) throw badInput('too-large', `${label} grew beyond ${sizeText(maxBytes)} while it was read`);
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/**
 * Writes `content` as `dir/name` atomically: a new file beside it (never
 * following a link planted there), its mode set on the descriptor, synced,
 * then renamed over the old one. `name` goes through safeName.
 */
export function writeFileInside(dir: string, name: string, content: string | Buffer, mode: number): string {
  const target = fileIn(dir, name);
  const aside = `${target}.${process.pid}.new`;
  rmSync(aside, { force: true });
  const fd = openSync(aside, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode); // the umask narrowed the mode given to open
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(aside, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(aside, target);
  } catch (error) {
    rmSync(aside, { force: true });
    throw error;
  }
  return target;
}

/** Makes renames inside `dir` durable (a folder's entries reach the disk only when the folder itself is synced). */
export function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
