// ftp:// with basic-ftp. Explicit TLS (AUTH TLS) is used when the server
// offers it, with the server's certificate checked against the system's
// authorities; a server that does not offer it is spoken to in the clear
// (the archive itself is encrypted and authenticated either way). FTP's
// separate data connections cannot go through an HTTP CONNECT proxy, so
// ftp:// locations are reached directly.

import { lstat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Client as FtpClient } from 'basic-ftp';
import { temporaryName, TransportError, type Transport, type TransportOptions } from './transport.js';

const TIMEOUT_MS = 15_000;
/** Replies that mean "no AUTH TLS here" (RFC 4217: 500, 502, 504, 534). */
const NO_TLS = /^(500|502|504|534)\b/;

async function open(options: TransportOptions, password: string): Promise<{ client: FtpClient; tls: boolean }> {
  const { Client } = await import('basic-ftp');
  const { uri } = options;
  const access = async (secure: boolean) => {
    const client = new Client(TIMEOUT_MS);
    try {
      await client.access({ host: uri.host!, port: uri.port ?? 21, user: uri.user!, password, secure, secureOptions: { servername: uri.host } });
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  };
  try {
    return { client: await access(true), tls: true };
  } catch (error) {
    if (!NO_TLS.test(String((error as { code?: number }).code ?? (error as Error).message))) throw ftpError(error, `${uri.host}`);
  }
  try {
    return { client: await access(false), tls: false };
  } catch (error) {
    throw ftpError(error, `${uri.host}`);
  }
}

function ftpError(error: unknown, what: string): TransportError {
  if (error instanceof TransportError) return error;
  const code = (error as { code?: number | string }).code;
  const message = (error as Error).message ?? String(error);
  if (code === 530) return Object.assign(new TransportError(`${what}: login refused`), { authentication: true });
  if (code === 452 || code === 552) return new TransportError(`${what}: the server has no space left (${message})`);
  return new TransportError(`${what}: ${message}`);
}

export async function ftpTransport(options: TransportOptions): Promise<Transport> {
  const { uri } = options;
  let session: { client: FtpClient; tls: boolean };
  try {
    session = await open(options, uri.password ?? '');
  } catch (error) {
    if (!(error as { authentication?: boolean }).authentication || uri.password !== undefined) throw error;
    session = await open(options, await options.askPassword(`password of ${uri.user}@${uri.host}`));
  }
  const { client } = session;
  const onAbort = () => client.close();
  options.signal.addEventListener('abort', onAbort, { once: true });
  const folder = uri.path && uri.path !== '/' ? uri.path.replace(/\/+$/, '') : uri.path ?? '';
  const at = (name: string) => (folder ? posix.join(folder, name) : name);
  const where = (name: string) => `${uri.host}:${at(name)}`;

  return {
    async list() {
      try {
        const entries = await client.list(folder || undefined);
        return entries.filter((e) => e.isFile).map((e) => ({ name: e.name, size: e.size }));
      } catch (error) {
        throw ftpError(error, `listing ${where('')}`);
      }
    },
    async put(localFile, name, progress) {
      const temp = at(temporaryName(name));
      try {
        client.trackProgress((info) => progress(info.bytes));
        await client.uploadFrom(localFile, temp);
        client.trackProgress();
        const size = (await lstat(localFile)).size;
        const held = await client.size(temp);
        if (held !== size) throw new TransportError(`uploading ${where(name)}: the server holds ${held} of ${size} bytes`);
        await client.rename(temp, at(name));
      } catch (error) {
        client.trackProgress();
        if (!client.closed) await client.remove(temp, true).catch(() => undefined);
        throw ftpError(error, `uploading ${where(name)}`);
      }
    },
    async get(name, localFile, maxBytes, progress) {
      try {
        const size = await client.size(at(name));
        if (size > maxBytes) throw new TransportError(`${where(name)} is larger than the ${maxBytes} bytes expected`);
        client.trackProgress((info) => {
          progress(info.bytes);
          if (info.bytes > maxBytes) client.close();
        });
        await client.downloadTo(localFile, at(name));
        client.trackProgress();
        if ((await lstat(localFile)).size > maxBytes) throw new TransportError(`${where(name)} grew past ${maxBytes} bytes while it was read`);
      } catch (error) {
        client.trackProgress();
        throw ftpError(error, `downloading ${where(name)}`);
      }
    },
    async read(name, maxBytes) {
      const { Writable } = await import('node:stream');
      const chunks: Buffer[] = [];
      let total = 0;
      try {
        const size = await client.size(at(name));
        if (size > maxBytes) throw new TransportError(`${where(name)} is larger than ${maxBytes} bytes`);
        await client.downloadTo(
          new Writable({
            write(chunk: Buffer, _e, callback) {
              total += chunk.length;
              if (total > maxBytes) return callback(new TransportError(`${where(name)} is larger than ${maxBytes} bytes`));
              chunks.push(chunk);
              callback();
            },
          }),
          at(name),
        );
        return Buffer.concat(chunks);
      } catch (error) {
        throw ftpError(error, `reading ${where(name)}`);
      }
    },
    async remove(name) {
      await client.remove(at(name)).catch((error) => {
        throw ftpError(error, `removing ${where(name)}`);
      });
    },
    async close() {
      options.signal.removeEventListener('abort', onAbort);
      client.close();
    },
  };
}
