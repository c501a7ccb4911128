// sftp:// and scp:// through ssh2. Both speak the SFTP protocol: OpenSSH's
// own scp has done so by default since 9.0, and it is the protocol that can
// list, rename and delete. The server must present a host key the node
// trusts (`keys add <host>`): an unknown or changed key refuses the
// connection before any credential is sent. The node's key (`keys create`)
// is tried first, then the URI's password, then a password asked at the
// prompt (kept in memory for this one command only).

import { userInfo } from 'node:os';
import type { Socket } from 'node:net';
import { posix } from 'node:path';
import { lstat } from 'node:fs/promises';
import type { Client as SshClient, SFTPWrapper } from 'ssh2';
import { connectOut } from '../../net/connector.js';
import { temporaryName, TransportError, type Transport, type TransportOptions } from './transport.js';
import { defaultPort } from '../../catalog/derive.js';

const READY_TIMEOUT_MS = 10_000;

async function connect(options: TransportOptions, password: string | undefined): Promise<{ client: SshClient; sftp: SFTPWrapper }> {
  const { Client } = (await import('ssh2')).default;
  const { uri } = options;
  const host = uri.host!;
  const port = uri.port ?? defaultPort('ssh');
  const trusted = options.trustedHostKey(host, port);
  if (!trusted) throw new TransportError(`${host}:${port} is not a trusted host; check its fingerprint with "keys add ${host}${port === defaultPort('ssh') ? '' : ` ${port}`}" first`);
  let sock: Socket;
  try {
    sock = await connectOut(host, port, { egress: options.egress, timeoutMs: READY_TIMEOUT_MS, signal: options.signal });
  } catch (error) {
    throw new TransportError(`${host}:${port}: ${(error as Error).message}`);
  }
  const client = new Client();
  let keyRefused = false;
  return new Promise((resolve, reject) => {
    const onAbort = () => client.end();
    options.signal.addEventListener('abort', onAbort, { once: true });
    client.on('error', (error) => {
      options.signal.removeEventListener('abort', onAbort);
      if (keyRefused) reject(new TransportError(`${host}:${port} presented a host key that is not the one the node trusts: refused (if the server's key really changed, run "keys add ${host}${port === defaultPort('ssh') ? '' : ` ${port}`}" again)`));
      else if ((error as { level?: string }).level === 'client-authentication') reject(Object.assign(new TransportError(`login refused for ${username(options)} on ${host}`), { authentication: true }));
      else reject(new TransportError(`${host}:${port}: ${error.message}`));
    });
    client.on('ready', () => {
      client.sftp((error, sftp) => {
        if (error) {
          client.end();
          return reject(new TransportError(`${host}: no SFTP subsystem (${error.message})`));
        }
        resolve({ client, sftp });
      });
    });
    client.connect({
      sock,
      username: username(options),
      privateKey: options.privateKey,
      password,
      readyTimeout: READY_TIMEOUT_MS,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        keyRefused = key.toString('base64') !== trusted;
        return !keyRefused;
      },
    });
  });
}

const username = (options: TransportOptions) => options.uri.user ?? userInfo().username;

const promisify =
  <T>(fn: (callback: (error: Error | null | undefined, value?: T) => void) => void) =>
  () =>
    new Promise<T>((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));

export async function sftpTransport(options: TransportOptions): Promise<Transport> {
  let session: { client: SshClient; sftp: SFTPWrapper };
  try {
    session = await connect(options, options.uri.password);
  } catch (error) {
    if (!(error as { authentication?: boolean }).authentication || options.uri.password !== undefined) throw error;
    const password = await options.askPassword(`password of ${username(options)}@${options.uri.host}`);
    session = await connect(options, password);
  }
  const { client, sftp } = session;
  const folder = options.uri.path && options.uri.path !== '/' ? options.uri.path.replace(/\/+$/, '') : options.uri.path === '/' ? '/' : '.';
  const at = (name: string) => posix.join(folder, name);
  const where = (name: string) => `${options.uri.host}:${at(name)}`;
  const fail = (error: unknown, what: string) => {
    if (error instanceof TransportError) return error;
    const message = (error as Error).message ?? String(error);
    // OpenSSH answers a full disk with a bare "Failure".
    return new TransportError(`${what}: ${/^failure$/i.test(message) ? 'the server refused the write (disk full or quota?)' : message}`);
  };
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  let lost = false;
  client.once('close', () => (lost = true));
  const guard = <T>(work: Promise<T>, what: string): Promise<T> =>
    Promise.race([work, closed.then(() => Promise.reject(new TransportError(`${what}: the connection to ${options.uri.host} was lost`)))]);

  return {
    async list() {
      const entries = await guard(promisify<{ filename: string; attrs: { size: number; isFile(): boolean } }[]>((cb) => sftp.readdir(folder, cb as never))(), `listing ${folder}`).catch((error) => {
        throw fail(error, `listing ${where('')}`);
      });
      return entries.filter((e) => e.attrs.isFile()).map((e) => ({ name: e.filename, size: e.attrs.size }));
    },
    async put(localFile, name, progress) {
      const temp = at(temporaryName(name));
      try {
        await guard(promisify<void>((cb) => sftp.fastPut(localFile, temp, { step: (moved: number) => progress(moved), mode: 0o600 }, cb as never))(), `uploading ${where(name)}`);
        const size = (await lstat(localFile)).size;
        const stat = await guard(promisify<{ size: number }>((cb) => sftp.stat(temp, cb as never))(), `checking ${where(name)}`);
        if (stat.size !== size) throw new TransportError(`uploading ${where(name)}: the server holds ${stat.size} of ${size} bytes`);
        await guard(promisify<void>((cb) => sftp.rename(temp, at(name), cb as never))(), `renaming ${where(name)}`);
      } catch (error) {
        if (!lost) await promisify<void>((cb) => sftp.unlink(temp, cb as never))().catch(() => undefined);
        throw fail(error, `uploading ${where(name)}`);
      }
    },
    async get(name, localFile, maxBytes, progress) {
      try {
        const stat = await guard(promisify<{ size: number; isFile(): boolean }>((cb) => sftp.lstat(at(name), cb as never))(), `reading ${where(name)}`);
        if (!stat.isFile()) throw new TransportError(`${where(name)} is not a regular file`);
        if (stat.size > maxBytes) throw new TransportError(`${where(name)} is larger than the ${maxBytes} bytes expected`);
        await guard(promisify<void>((cb) => sftp.fastGet(at(name), localFile, { step: (moved: number) => progress(moved), mode: 0o600 }, cb as never))(), `downloading ${where(name)}`);
        if ((await lstat(localFile)).size > maxBytes) throw new TransportError(`${where(name)} grew past ${maxBytes} bytes while it was read`);
      } catch (error) {
        throw fail(error, `downloading ${where(name)}`);
      }
    },
    async read(name, maxBytes) {
      try {
        const stat = await guard(promisify<{ size: number; isFile(): boolean }>((cb) => sftp.lstat(at(name), cb as never))(), `reading ${where(name)}`);
        if (!stat.isFile() || stat.size > maxBytes) throw new TransportError(`${where(name)} is not a regular file of at most ${maxBytes} bytes`);
        const handle = await promisify<Buffer>((cb) => sftp.open(at(name), 'r', cb as never))();
        try {
          const buffer = Buffer.alloc(stat.size);
          let offset = 0;
          while (offset < stat.size) {
            const read = await promisify<number>((cb) => sftp.read(handle, buffer, offset, stat.size - offset, offset, cb as never))();
            if (!read) break;
            offset += read;
          }
          return buffer.subarray(0, offset);
        } finally {
          await promisify<void>((cb) => sftp.close(handle, cb as never))().catch(() => undefined);
        }
      } catch (error) {
        throw fail(error, `reading ${where(name)}`);
      }
    },
    async remove(name) {
      await guard(promisify<void>((cb) => sftp.unlink(at(name), cb as never))(), `removing ${where(name)}`).catch((error) => {
        throw fail(error, `removing ${where(name)}`);
      });
    },
    async close() {
      client.end();
    },
  };
}
