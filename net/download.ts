// Downloads from http:// and https:// download locations (`system upgrade`,
// `cluster upgrade`): one GET, sent through the one way out
// (net/connector.ts: the proxy, its bypass list, the egress policy), the
// answer read by Node's own HTTP parser.
//
// The server is hostile input like any other: its head is bounded by the
// parser (16 KiB), its body by `maxBytes` (a Content-Length above it is
// refused before a byte is read, a body that runs past it is cut), a
// silence longer than IDLE_MS ends the transfer, and at most MAX_REDIRECTS
// redirects are followed, never from https to http, and credentials never
// go to another origin. An HTTPS server must show a certificate the node
// trusts: Node's bundled roots and the operating system's store (where a
// site adds its own CA).

import { createWriteStream } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connect as tlsConnect, getCACertificates, type TLSSocket } from 'node:tls';
import { failure, PlatformError } from '../core/errors.js';
import { PLATFORM_VERSION } from '../core/version.js';
import { connectOut, type Egress } from './connector.js';
import { DEFAULT_PORTS, formatUri, type NetworkUri } from './uri.js';

export const MAX_REDIRECTS = 5;
/** The longest silence of a server, from the connection to the last byte. */
export const IDLE_MS = 30_000;
/** The head of an answer: status line and headers. */
export const MAX_HEAD_BYTES = 16 * 1024;

export interface DownloadOptions {
  egress: Egress;
  maxBytes: number;
  /** Called with the bytes received so far. */
  progress(bytes: number): void;
  signal: AbortSignal;
  idleMs?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A download that failed: the message names the location without its password. */
const downloadError = (message: string) => failure('download', message);

/** The URL as shown: no user or password. */
const shown = (url: URL) => `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;

let trustedRoots: string[] | undefined;
/** Node's bundled roots and the system's store, read once. */
const roots = () => (trustedRoots ??= [...new Set([...getCACertificates('default'), ...getCACertificates('system')])]);

/** Downloads `uri` (http or https) into the file `into` (created, mode 0600). */
export async function download(uri: NetworkUri, into: string, options: DownloadOptions): Promise<void> {
  if (uri.scheme !== 'http' && uri.scheme !== 'https') throw downloadError(`${uri.scheme} is not an http(s) location`);
  let url = new URL(formatUri(uri));
  for (let hop = 0; ; hop++) {
    const answer = await get(url, options);
    if (!REDIRECTS.has(answer.statusCode ?? 0)) return receive(answer, url, into, options);
    answer.destroy();
    const location = answer.headers.location;
    if (hop === MAX_REDIRECTS) throw downloadError(`${shown(url)} redirected more than ${MAX_REDIRECTS} times: refused`);
    if (!location) throw downloadError(`${shown(url)} answered ${answer.statusCode} without a Location`);
    url = redirectTarget(url, location);
  }
}

/** Where a redirect leads: http(s) only, never down from https to http; a user and password only to the same origin. */
export function redirectTarget(from: URL, location: string): URL {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw downloadError(`${shown(from)} redirected to a location that is not a URL`);
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') throw downloadError(`${shown(from)} redirected to a ${to.protocol.replace(':', '')} location: only http(s) is followed`);
  if (from.protocol === 'https:' && to.protocol === 'http:') throw downloadError(`${shown(from)} redirected from https to plain http (${shown(to)}): refused`);
  // A URI a person gives has its port checked (net/uri.ts); a server's Location gets the same rule: no port 0.
  if (to.port === '0') throw downloadError(`${shown(from)} redirected to port 0 (${shown(to)}): refused`);
  if (to.origin !== from.origin) {
    to.username = '';
    to.password = '';
  } else if (!to.username && from.username) {
    to.username = from.username;
    to.password = from.password;
  }
  return to;
}

/** A user or password as the URL holds it, percent-decoded (as typed when it holds a stray %). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Sends the GET and waits for the answer's head. */
async function get(url: URL, options: DownloadOptions): Promise<IncomingMessage> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol === 'https:' ? 'https' : 'http'];
  const idleMs = options.idleMs ?? IDLE_MS;
  let socket: Socket = await connectOut(host, port, { egress: options.egress, signal: options.signal, timeoutMs: Math.min(idleMs, 30_000) });
  try {
    if (url.protocol === 'https:') socket = await secure(socket, host, url, idleMs);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  const headers: Record<string, string> = { Host: url.host, 'User-Agent': `platform-shell/${PLATFORM_VERSION}`, Accept: '*/*', Connection: 'close' };
  if (url.username) headers.Authorization = `Basic ${Buffer.from(`${decoded(url.username)}:${decoded(url.password)}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const sent = request({ createConnection: () => socket, method: 'GET', path: `${url.pathname}${url.search}`, headers, maxHeaderSize: MAX_HEAD_BYTES, signal: options.signal, timeout: idleMs });
    sent.on('timeout', () => sent.destroy(downloadError(`${shown(url)} sent nothing for ${idleMs / 1000} s`)));
    sent.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'HPE_HEADER_OVERFLOW' ? downloadError(`${shown(url)} answered a head longer than ${MAX_HEAD_BYTES} bytes: refused`) : error instanceof PlatformError || error.code === 'ABORT_ERR' ? error : downloadError(`${shown(url)}: ${error.message}`)));
    sent.on('response', resolve);
    sent.end();
  });
}

/** TLS over the connected socket: the server's certificate must verify for its name. */
function secure(socket: Socket, host: string, url: URL, idleMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername: isIP(host) ? undefined : host, ca: roots(), ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => fail(downloadError(`${shown(url)}: no TLS handshake within ${idleMs / 1000} s`)), idleMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      tls.destroy();
      reject(error);
    };
    tls.once('error', (error: NodeJS.ErrnoException) => fail(downloadError(`${shown(url)}: ${error.code?.startsWith('ERR_TLS') || /certificate|self.signed|verify/i.test(error.message) ? `its certificate is not trusted by this node (${error.message})` : error.message}`)));
    tls.once('secureConnect', () => {
      clearTimeout(timer);
      tls.removeAllListeners('error');
      tls.on('error', () => undefined); // the request takes over error reporting
      resolve(tls);
    });
  });
}

/** Writes a 200 answer's body into `into`, bounded; any other status is the server's refusal. */
async function receive(answer: IncomingMessage, url: URL, into: string, options: DownloadOptions): Promise<void> {
  const status = answer.statusCode ?? 0;
  if (status !== 200) {
    answer.destroy();
    const hint = status === 401 || status === 403 ? ': the server wants credentials (http://user:password@host/...) or refuses them' : status === 404 ? ': no such file there' : '';
    throw downloadError(`${shown(url)} answered ${status}${answer.statusMessage ? ` ${answer.statusMessage.replace(/[^\x20-\x7e]/g, '?').slice(0, 60)}` : ''}${hint}`);
  }
  const declared = Number(answer.headers['content-length'] ?? NaN);
  if (declared > options.maxBytes) {
    answer.destroy();
    throw downloadError(`${shown(url)} holds ${declared} bytes, more than the ${options.maxBytes} a release may weigh: refused`);
  }
  const idleMs = options.idleMs ?? IDLE_MS;
  answer.setTimeout(idleMs, () => answer.destroy(downloadError(`${shown(url)} sent nothing for ${idleMs / 1000} s`)));
  let bytes = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > options.maxBytes) return callback(downloadError(`${shown(url)} sent more than the ${options.maxBytes} bytes a release may weigh: cut off`));
      options.progress(bytes);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(answer, bounded, createWriteStream(into, { flags: 'wx', mode: 0o600 }), { signal: options.signal });
  } catch (error) {
    if (error instanceof PlatformError || (error as NodeJS.ErrnoException).code === 'ABORT_ERR') throw error;
    throw downloadError(`${shown(url)}: the transfer broke off after ${bytes} bytes (${(error as Error).message})`);
  }
  if (Number.isFinite(declared) && bytes !== declared) throw downloadError(`${shown(url)}: the transfer broke off after ${bytes} of ${declared} bytes`);
}
