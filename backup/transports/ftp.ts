// ftp:// with basic-ftp. Explicit TLS (AUTH TLS) is used when the server
// offers it, with the server's certificate checked against the system's
// authorities; a server that does not offer it is spoken to in the clear
// (the archive itself is encrypted and authenticated either way). FTP's
// separate data connections cannot go through an HTTP CONNECT proxy, so
// ftp:// locations are reached directly.

import { lstat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { Client as FtpClient } from 'basic-ftp';
import { temporaryName, TransportError, type Transport, type TransportOptions } from './transport.js';
import { defaultPort } from '../../catalog/derive.js';

const TIMEOUT_MS = 15_000;

async function open(options: TransportOptions, password: string): Promise<{ client: FtpClient; tls: boolean }> {
  // A CommonJS module: its exports sit on `default` once bundled.
  const ftp = await import('basic-ftp');
  const Client = ftp.Client ?? (ftp as unknown as { default: typeof ftp }).default.Client;
  const { uri } = options;
  const client = new Client(TIMEOUT_MS);
  try {
    await client.connect(uri.host!, uri.port ?? defaultPort('ftp'));
    // FEAT before logging in: credentials go over TLS whenever the server offers it.
    const features = await client.features();
    const tls = features.get('AUTH')?.toUpperCase().split(/\s+/).includes('TLS') ?? false;
    if (tls) await client.useTLS({ servername: isIP(uri.host!) ? undefined : uri.host }); // SNI takes names only
    await client.login(uri.user!, password);
    await client.useDefaultSettings();
    return { client, tls };
  } catch (error) {
    client.close();
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
  // RFC 1738: an ftp URL's path is relative to the login folder ("%2F" starts an absolute one).
  const folder = (uri.path ?? '').replace(/^\//, '').replace(/\/+$/, '');
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
