// SFTP for console users, confined to the media folder. sshd runs a
// subsystem through the account's login shell (the console), so the console
// serves SFTP itself on stdin/stdout, with ssh2's SFTP protocol in server
// mode. Clients see one folder, `media/`; nothing outside it can be named,
// and symbolic links that lead out are refused. (A chroot would also lock
// the console out: it cannot run inside one.)

import { createRequire } from 'node:module';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, realpathSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { posix, sep } from 'node:path';

const requireCommonJs = createRequire(import.meta.url);
// ssh2 does not export its SFTP protocol class from the package root.
const { SFTP, STATUS_CODE, OPEN_MODE } = requireCommonJs('ssh2/lib/protocol/SFTP.js') as {
  SFTP: new (client: unknown, chanInfo: unknown, cfg: { server: boolean }) => SftpServer;
  STATUS_CODE: Record<string, number>;
  OPEN_MODE: Record<string, number>;
};

interface SftpServer {
  push(data: Buffer | null): void;
  on(event: string, handler: (...args: never[]) => void): void;
  status(reqid: number, code: number, message?: string): void;
  handle(reqid: number, handle: Buffer): void;
  data(reqid: number, data: Buffer): void;
  name(reqid: number, names: { filename: string; longname: string; attrs: object }[]): void;
  attrs(reqid: number, attrs: object): void;
}

/** The one folder a client sees. */
export const MEDIA = 'media';

class Refused extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export function serveSftp(mediaDir: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
  const media = realpathSync(mediaDir);
  const client = {
    _protocol: { _remoteIdentRaw: undefined, channelData: (_id: number, data: Buffer) => output.write(data), channelEOF: () => undefined, channelClose: () => output.end() },
  };
  const channel = { type: 'session', incoming: { id: 0, state: 'open', window: Infinity, packetSize: 1 << 20 }, outgoing: { id: 0, state: 'open', window: Infinity, packetSize: 1 << 20 } };
  const sftp = new SFTP(client, channel, { server: true });
  const handles = new Map<number, { fd?: number; dir?: string[]; path: string }>();
  let nextHandle = 1;

  /** Client path -> real path inside media; `undefined` for the virtual root that holds only media/. */
  const resolveReal = (path: string): string | undefined => {
    const virtual = posix.resolve('/', path || '.');
    if (virtual === '/') return undefined;
    const [, first, ...rest] = virtual.split('/');
    if (first !== MEDIA) throw new Refused(STATUS_CODE.NO_SUCH_FILE!, `only ${MEDIA}/ is reachable`);
    const real = [media, ...rest].join(sep);
    // Whatever exists on the way must stay inside media (no symlink leads out).
    let probe = real;
    for (;;) {
      try {
        const resolved = realpathSync(probe);
        if (resolved !== media && !resolved.startsWith(media + sep)) throw new Refused(STATUS_CODE.PERMISSION_DENIED!, 'leads outside media');
        break;
      } catch (error) {
        if (error instanceof Refused) throw error;
        probe = posix.dirname(probe);
      }
    }
    return real;
  };

  const attrsOf = (stats: Stats) => ({ mode: stats.mode, uid: stats.uid, gid: stats.gid, size: stats.size, atime: Math.floor(stats.atimeMs / 1000), mtime: Math.floor(stats.mtimeMs / 1000) });
  const rootAttrs = () => attrsOf(statSync(media));
  const guard = (reqid: number, work: () => void) => {
    try {
      work();
    } catch (error) {
      const code = error instanceof Refused ? error.code : (error as NodeJS.ErrnoException).code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE! : (error as NodeJS.ErrnoException).code === 'EACCES' ? STATUS_CODE.PERMISSION_DENIED! : STATUS_CODE.FAILURE!;
      sftp.status(reqid, code, (error as Error).message);
    }
  };
  const newHandle = (entry: { fd?: number; dir?: string[]; path: string }) => {
    const id = nextHandle++;
    handles.set(id, entry);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(id);
    return buffer;
  };
  const handleOf = (buffer: Buffer) => {
    const entry = buffer.length === 4 ? handles.get(buffer.readUInt32BE(0)) : undefined;
    if (!entry) throw new Refused(STATUS_CODE.FAILURE!, 'bad handle');
    return { id: buffer.readUInt32BE(0), entry };
  };
  const stat = (path: string, follow: boolean) => {
    const real = resolveReal(path);
    return real === undefined ? rootAttrs() : attrsOf(follow ? statSync(real) : lstatSync(real));
  };
  const writable = (path: string) => {
    const real = resolveReal(path);
    if (real === undefined || real === media) throw new Refused(STATUS_CODE.PERMISSION_DENIED!, 'the top folders cannot be changed');
    return real;
  };

  sftp.on('REALPATH', (reqid: number, path: string) =>
    guard(reqid, () => {
      const virtual = posix.resolve('/', path || '.');
      sftp.name(reqid, [{ filename: virtual, longname: virtual, attrs: {} }]);
    }),
  );
  sftp.on('STAT', (reqid: number, path: string) => guard(reqid, () => sftp.attrs(reqid, stat(path, true))));
  sftp.on('LSTAT', (reqid: number, path: string) => guard(reqid, () => sftp.attrs(reqid, stat(path, false))));
  sftp.on('FSTAT', (reqid: number, handle: Buffer) => guard(reqid, () => sftp.attrs(reqid, attrsOf(fstatSync(handleOf(handle).entry.fd!)))));
  sftp.on('OPEN', (reqid: number, filename: string, flags: number) =>
    guard(reqid, () => {
      const write = (flags & OPEN_MODE.WRITE!) !== 0;
      const real = write ? writable(filename) : resolveReal(filename);
      if (real === undefined) throw new Refused(STATUS_CODE.FAILURE!, 'not a file');
      if (lstatSafe(real)?.isSymbolicLink()) throw new Refused(STATUS_CODE.PERMISSION_DENIED!, 'symbolic links are not followed');
      let mode = write ? ((flags & OPEN_MODE.READ!) !== 0 ? 'r+' : 'w') : 'r';
      if (write && (flags & OPEN_MODE.APPEND!) !== 0) mode = 'a';
      if (write && (flags & OPEN_MODE.TRUNC!) === 0 && (flags & OPEN_MODE.CREAT!) !== 0 && lstatSafe(real)) mode = 'r+';
      sftp.handle(reqid, newHandle({ fd: openSync(real, mode, 0o644), path: real }));
    }),
  );
  sftp.on('READ', (reqid: number, handle: Buffer, offset: number, length: number) =>
    guard(reqid, () => {
      const buffer = Buffer.alloc(length);
      const read = readSync(handleOf(handle).entry.fd!, buffer, 0, length, offset);
      if (read === 0) sftp.status(reqid, STATUS_CODE.EOF!);
      else sftp.data(reqid, buffer.subarray(0, read));
    }),
  );
  sftp.on('WRITE', (reqid: number, handle: Buffer, offset: number, data: Buffer) =>
    guard(reqid, () => {
      writeSync(handleOf(handle).entry.fd!, data, 0, data.length, offset);
      sftp.status(reqid, STATUS_CODE.OK!);
    }),
  );
  sftp.on('CLOSE', (reqid: number, handle: Buffer) =>
    guard(reqid, () => {
      const { id, entry } = handleOf(handle);
      if (entry.fd !== undefined) closeSync(entry.fd);
      handles.delete(id);
      sftp.status(reqid, STATUS_CODE.OK!);
    }),
  );
  sftp.on('OPENDIR', (reqid: number, path: string) =>
    guard(reqid, () => {
      const real = resolveReal(path);
      const names = real === undefined ? [MEDIA] : readdirSync(real);
      sftp.handle(reqid, newHandle({ dir: names, path: real ?? '/' }));
    }),
  );
  sftp.on('READDIR', (reqid: number, handle: Buffer) =>
    guard(reqid, () => {
      const { entry } = handleOf(handle);
      if (!entry.dir?.length) return sftp.status(reqid, STATUS_CODE.EOF!);
      const names = entry.dir.splice(0, 100).map((name) => {
        const stats = entry.path === '/' ? statSync(media) : lstatSync(posix.join(entry.path, name));
        return { filename: name, longname: `${stats.isDirectory() ? 'd' : '-'}rw-r--r-- 1 0 0 ${stats.size} ${name}`, attrs: attrsOf(stats) };
      });
      sftp.name(reqid, names);
    }),
  );
  const simple = (event: string, work: (...args: never[]) => void) =>
    sftp.on(event, (reqid: number, ...args: never[]) =>
      guard(reqid, () => {
        work(...args);
        sftp.status(reqid, STATUS_CODE.OK!);
      }),
    );
  simple('REMOVE', (path: string) => unlinkSync(writable(path)));
  simple('RMDIR', (path: string) => rmdirSync(writable(path)));
  simple('MKDIR', (path: string) => mkdirSync(writable(path), { mode: 0o755 }));
  simple('RENAME', (from: string, to: string) => renameSync(writable(from), writable(to)));
  simple('SETSTAT', () => undefined); // modes and owners stay as the product sets them
  simple('FSETSTAT', () => undefined);
  for (const unsupported of ['SYMLINK', 'READLINK', 'EXTENDED']) sftp.on(unsupported, (reqid: number) => sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED!));

  return new Promise((resolve) => {
    input.on('data', (chunk: Buffer) => sftp.push(chunk));
    input.on('end', () => {
      sftp.push(null);
      for (const { entry } of [...handles.keys()].map((id) => ({ entry: handles.get(id)! }))) if (entry.fd !== undefined) closeSync(entry.fd);
      resolve();
    });
  });
}

function lstatSafe(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
