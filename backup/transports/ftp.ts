// ftp:// with basic-ftp. Explicit TLS (AUTH TLS) is used when the server
// offers it, with the server's certificate checked against the system's
// authorities; a server that does not offer it is spoken to in the clear
// (the archive itself is encrypted and authenticated either way). The
// control connection and every passive data connection are opened by
// net/connector.ts, so both go through `network proxy` (HTTP CONNECT or
// SOCKS5) like every other way out; active mode (PORT) is never used.

import { lstat } from 'node:fs/promises';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { posix } from 'node:path';
import type { Client as FtpClient, FTPContext, FTPResponse } from 'basic-ftp';
import { connectOut, printable } from '../../net/connector.js';
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
    await connectControl(client, options);
    client.prepareTransfer = (ftp) => openPassiveData(ftp, options);
    // FEAT before logging in: credentials go over TLS whenever the server offers it.
    const features = await client.features();
    const tls = features.get('AUTH')?.toUpperCase().split(/\s+/).includes('TLS') ?? false;
    // SNI takes names only; `host` is the identity data connections resume the TLS session under.
    if (tls) await client.useTLS({ servername: isIP(uri.host!) ? undefined : uri.host, host: uri.host });
    await client.login(uri.user!, password);
    await client.useDefaultSettings();
    return { client, tls };
  } catch (error) {
    client.close();
    throw ftpError(error, `${uri.host}`);
  }
}

/** What of basic-ftp (6.x) the connector needs: its control-socket setter and greeting handler. */
interface ControlInternals {
  ftp: FTPContext;
  _handleConnectResponse(): Promise<FTPResponse>;
}

/** The control connection, opened by the connector and handed to basic-ftp, which then reads the greeting. */
async function connectControl(client: FtpClient, options: TransportOptions): Promise<void> {
  const { uri } = options;
  const socket = await connectOut(uri.host!, uri.port ?? defaultPort('ftp'), { egress: options.egress, timeoutMs: TIMEOUT_MS, signal: options.signal });
  const internals = client as unknown as ControlInternals;
  internals.ftp.socket = socket;
  await internals._handleConnectResponse();
}

/** The port of a 229 answer to EPSV ("(|||6446|)") or a 227 answer to PASV ("(h1,h2,h3,h4,p1,p2)"). */
export function passivePort(answer: string): number | undefined {
  const epsv = /\(([!-~])\1\1(\d{1,5})\1\)/.exec(answer);
  const pasv = /(?<![\d,])\d{1,3},\d{1,3},\d{1,3},\d{1,3},(\d{1,3}),(\d{1,3})(?![\d,])/.exec(answer);
  const port = epsv ? Number(epsv[2]) : pasv ? Number(pasv[1]) * 256 + Number(pasv[2]) : NaN;
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * A passive data connection through the connector: EPSV, else PASV. It
 * always goes to the location's own host (the address a PASV answer names
 * is ignored: no FTP bounce), over TLS resuming the control connection's
 * session when the control connection is encrypted.
 */
async function openPassiveData(ftp: FTPContext, options: TransportOptions): Promise<FTPResponse> {
  const answer = await ftp.request('EPSV').catch(() => ftp.request('PASV'));
  const port = passivePort(answer.message);
  if (port === undefined) throw new TransportError(`${options.uri.host}: the server's passive-mode answer names no port ("${printable(answer.message)}")`);
  const raw = await connectOut(options.uri.host!, port, { egress: options.egress, timeoutMs: TIMEOUT_MS, signal: options.signal });
  let socket: Socket = raw;
  if (ftp.socket instanceof TLSSocket) {
    const secured = tlsConnect({ ...ftp.tlsOptions, socket: raw, session: ftp.tlsSessionStore ?? ftp.socket.getSession() });
    // TLS 1.3 tickets are single-use: keep the newest for the next data connection.
    secured.on('session', (session) => (ftp.tlsSessionStore = session));
    socket = secured;
  }
  ftp.dataSocket = socket;
  return answer;
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
