// file:///folder: a folder on this node (a mounted disk or share).

import { constants, createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { temporaryName, TransportError, type Progress, type RemoteFile, type Transport } from './transport.js';

/** Counts bytes through a pipeline, refusing past `max`. */
export function counter(progress: Progress, max = Number.MAX_SAFE_INTEGER): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > max) return callback(new TransportError(`the file is larger than the ${max} bytes expected`));
      progress(bytes);
      callback(null, chunk);
    },
  });
}

const describe = (error: unknown, where: string): TransportError => {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof TransportError) return error;
  if (code === 'ENOSPC') return new TransportError(`${where}: no space left on the device`);
  if (code === 'EDQUOT') return new TransportError(`${where}: disk quota exceeded`);
  if (code === 'EACCES' || code === 'EPERM') return new TransportError(`${where}: permission denied`);
  if (code === 'ENOENT') return new TransportError(`${where}: no such file or folder`);
  return new TransportError(`${where}: ${(error as Error).message}`);
};

/** Opens a file for reading, refusing a symbolic link in its place. */
async function openNoFollow(path: string) {
  try {
    return await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new TransportError(`${path} is not a regular file`);
    throw error;
  }
}

export function fileTransport(folder: string, signal: AbortSignal): Transport {
  const at = (name: string) => join(folder, name);
  return {
    async list(): Promise<RemoteFile[]> {
      let names: string[];
      try {
        names = await readdir(folder);
      } catch (error) {
        throw describe(error, folder);
      }
      const files: RemoteFile[] = [];
      for (const name of names) {
        const stat = await lstat(at(name)).catch(() => undefined);
        if (stat?.isFile()) files.push({ name, size: stat.size });
      }
      return files;
    },
    async put(localFile, name, progress) {
      const temp = at(temporaryName(name));
      try {
        await mkdir(folder, { recursive: true });
        const out = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
        await pipeline(createReadStream(localFile), counter(progress), out, { signal });
        const handle = await open(temp, 'r');
        await handle.sync();
        await handle.close();
        await rename(temp, at(name));
      } catch (error) {
        await rm(temp, { force: true });
        throw describe(error, `writing ${at(name)}`);
      }
    },
    async get(name, localFile, maxBytes, progress) {
      try {
        const handle = await openNoFollow(at(name));
        if (!(await handle.stat()).isFile()) {
          await handle.close();
          throw new TransportError(`${at(name)} is not a regular file`);
        }
        await pipeline(handle.createReadStream(), counter(progress, maxBytes), createWriteStream(localFile, { flags: 'wx', mode: 0o600 }), { signal });
      } catch (error) {
        throw describe(error, `reading ${at(name)}`);
      }
    },
    async read(name, maxBytes) {
      try {
        const handle = await openNoFollow(at(name));
        try {
          const stat = await handle.stat();
          if (!stat.isFile()) throw new TransportError(`${at(name)} is not a regular file`);
          if (stat.size > maxBytes) throw new TransportError(`${at(name)} is larger than ${maxBytes} bytes`);
          const buffer = Buffer.alloc(stat.size);
          await handle.read(buffer, 0, stat.size, 0);
          return buffer;
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw describe(error, `reading ${at(name)}`);
      }
    },
    async remove(name) {
      await rm(at(name), { force: true }).catch((error) => {
        throw describe(error, `removing ${at(name)}`);
      });
    },
    async close() {},
  };
}
