// The one way out: every TCP connection the node opens to the outside
// (backups, log transfers, mail to the relay, `keys add|send`, `diag uri
// test`) is opened here, honouring `network proxy`:
//
//   http://[user:password@]host[:port]     HTTP CONNECT (seed 002), Basic auth
//   socks5://[user:password@]host[:port]   SOCKS5 (RFC 1928, seed 004), user/password auth (RFC 1929);
//                                          names are sent to the proxy, which resolves them (ATYP 3)
//
// and its bypass list (`network proxy bypass`). Everything the proxy answers
// is hostile input: read in paused mode and bounded (an HTTP reply head of
// at most 8 KiB, SOCKS replies parsed by their lengths), under one deadline,
// and every error names the proxy, never its password. UDP (DNS, NTP, SNMP)
// cannot be tunnelled by either kind and always goes direct.

import { BlockList, connect as netConnect, isIP, type Socket } from 'node:net';
import { isHostname } from '../core/argtypes.js';
import { badInput, PlatformError } from '../core/errors.js';
import type { ArgType } from '../core/command.js';
import type { Store } from '../store/db.js';
import { effectivePort, parseUri, uriArg, type NetworkUri } from './uri.js';
import { configuredDestinations, egressVerdict, refusalMessage, type EgressPolicy } from './egress.js';

export const PROXY_SCHEMES = ['http', 'socks5'] as const;
export type ProxyScheme = (typeof PROXY_SCHEMES)[number];

/** How the node reaches the outside: a proxy (or none) and the destinations that bypass it. */
export interface Egress {
  proxy?: NetworkUri;
  bypass: readonly string[];
  /** The egress policy (firewall egress): in strict mode a direct connection goes only to a configured destination. */
  policy?: EgressPolicy;
}
export const DIRECT: Egress = { bypass: [] };

/** What always goes direct, whatever the proxy: neither CONNECT nor SOCKS5 CONNECT carries UDP. */
export const NEVER_PROXIED = [
  'DNS to the resolvers (UDP, and TCP beside it): the proxy resolves the names of what it carries',
  'NTP to the time servers (UDP)',
  'SNMP informs and traps to notification targets (UDP)',
] as const;

export const DEFAULT_TIMEOUT_MS = 10_000;
/** The longest reply head an HTTP proxy may send before its blank line. */
export const MAX_PROXY_HEAD_BYTES = 8 * 1024;
/** RFC 1929: user name and password are 1-255 bytes each; RFC 1928: a domain name 1-255 bytes. */
const SOCKS_FIELD_MAX = 255;

/** A proxy failure: the message names the proxy; `outcome` is what a probe reports. */
export class ProxyError extends PlatformError {
  constructor(
    message: string,
    readonly outcome: 'refused' | 'timed out' | 'failed' = 'failed',
  ) {
    super('proxy', message, 1);
  }
}

const hostText = (host: string) => (isIP(host) === 6 ? `[${host}]` : host);
export const proxyAddress = (proxy: NetworkUri) => `${hostText(proxy.host!)}:${effectivePort(proxy)}`;

// ---------------------------------------------------------------------------
// The proxy URI and the bypass list: what a person types.

/** Checks a parsed URI is a usable proxy: its scheme, no path, SOCKS5 credentials within RFC 1929's lengths. */
export function checkProxy(uri: NetworkUri): NetworkUri {
  if (!(PROXY_SCHEMES as readonly string[]).includes(uri.scheme)) throw badInput('bad-proxy', `<proxy-uri>: ${uri.scheme} is not a proxy kind; use http://host:port (HTTP CONNECT) or socks5://host[:port] (SOCKS5)`);
  if (uri.path !== undefined && uri.path !== '/') throw badInput('bad-proxy', '<proxy-uri>: a proxy URI has no path: scheme://[user:password@]host[:port]');
  if (uri.password !== undefined && uri.user === undefined) throw badInput('bad-proxy', '<proxy-uri>: a password needs a user');
  if (uri.scheme === 'socks5') {
    if (uri.user !== undefined && Buffer.byteLength(uri.user) > SOCKS_FIELD_MAX) throw badInput('bad-proxy', `<proxy-uri>: a SOCKS5 user name is at most ${SOCKS_FIELD_MAX} bytes`);
    if (uri.password !== undefined && (uri.password === '' || Buffer.byteLength(uri.password) > SOCKS_FIELD_MAX)) throw badInput('bad-proxy', `<proxy-uri>: a SOCKS5 password is 1-${SOCKS_FIELD_MAX} bytes`);
  }
  return { ...uri, path: undefined };
}

const proxyUri = uriArg('<proxy-uri>', PROXY_SCHEMES);
/** `network proxy <uri>`: http:// or socks5://, checked; secrets never reach the audit log. */
export const proxyArg: ArgType<NetworkUri> = { ...proxyUri, parse: (value) => checkProxy(proxyUri.parse(value)) };

/** A bypass entry: a host name, `.domain` (the domain and every name under it), an address, or a network (CIDR). */
export function parseBypassEntry(text: string): string {
  const value = text.trim().toLowerCase();
  const cidr = /^([0-9a-f.:]+)\/(\d{1,3})$/.exec(value);
  if (cidr) {
    const family = isIP(cidr[1]!);
    const bits = Number(cidr[2]);
    if (family === 0 || bits > (family === 4 ? 32 : 128)) throw badInput('bad-bypass', `<bypass>: "${text}" is not a network (address/prefix)`);
    return value;
  }
  if (isIP(value)) return value;
  const name = value.startsWith('.') ? value.slice(1) : value;
  if (!isHostname(name)) throw badInput('bad-bypass', `<bypass>: "${text}" is not a host name, .domain, address or network (CIDR)`);
  return value.replace(/\.$/, '');
}

export const bypassArg: ArgType<string> = { hint: '<host|.domain|address|network>', parse: parseBypassEntry };

/** Whether `host` (a name or address, as the connection names it) is on the bypass list. Names are never resolved for this. */
export function bypasses(host: string, list: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  const family = isIP(name);
  return list.some((entry) => {
    if (entry.includes('/')) {
      if (!family) return false;
      const [network, bits] = entry.split('/') as [string, string];
      const block = new BlockList();
      block.addSubnet(network, Number(bits), isIP(network) === 6 ? 'ipv6' : 'ipv4');
      return block.check(name, family === 6 ? 'ipv6' : 'ipv4');
    }
    if (entry.startsWith('.')) return name === entry.slice(1) || name.endsWith(entry);
    if (family && isIP(entry) === family) {
      const block = new BlockList();
      block.addAddress(entry, family === 6 ? 'ipv6' : 'ipv4');
      return block.check(name, family === 6 ? 'ipv6' : 'ipv4');
    }
    return name === entry;
  });
}

/** The node's egress as the store keeps it. A stored proxy that no longer parses stops connections: never silently direct. */
export function egressOf(store: Store): Egress {
  const text = store.settings.get('network.proxy');
  let proxy: NetworkUri | undefined;
  if (text) {
    try {
      proxy = checkProxy(parseUri(text));
    } catch {
      throw new ProxyError('the stored network proxy is not a valid proxy URI; set it again with "network proxy <uri>" or remove it with "network proxy del"');
    }
  }
  const stored = store.settings.get('network.proxyBypass') as unknown;
  let bypass: string[];
  try {
    if (!Array.isArray(stored)) throw new Error('not a list');
    bypass = stored.map((entry) => parseBypassEntry(String(entry)));
  } catch {
    throw new ProxyError('the stored proxy bypass list holds an entry that is not a host, .domain, address or network; see "network proxy bypass" and remove it with "network proxy bypass del"');
  }
  // Open egress checks nothing: its destinations are not worked out for each connection.
  const open = store.settings.get('firewall.egress') === 'open';
  return { proxy, bypass, policy: open ? { mode: 'open', destinations: [] } : egressPolicyOf(store, { proxy, bypass }) };
}

/** The egress policy as the configuration gives it: the destinations the firewall lets out and the connector allows. */
export function egressPolicyOf(store: Store, egress: Egress): EgressPolicy {
  const mode = store.settings.get('firewall.egress');
  return { mode, destinations: configuredDestinations(store, (host) => proxyFor(egress, host), egress.proxy) };
}

/** Thrown before any packet leaves when the egress policy refuses a direct connection. */
export class EgressRefused extends PlatformError {
  constructor(host: string, port: number) {
    super('egress-refused', refusalMessage(host, port), 1);
  }
}

/** The proxy a connection to `host` goes through, or undefined for a direct one. */
export const proxyFor = (egress: Egress, host: string): NetworkUri | undefined => (egress.proxy && !bypasses(host, egress.bypass) ? egress.proxy : undefined);

// ---------------------------------------------------------------------------
// Connecting.

export interface ConnectOptions {
  egress?: Egress;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Opens a TCP connection to host:port, through the proxy when the egress
 * has one and the host does not bypass it. The socket comes back connected
 * end to end, paused, with anything the destination already sent still
 * unread in it. A direct connection fails with Node's own error codes.
 */
export function connectOut(host: string, port: number, options: ConnectOptions = {}): Promise<Socket> {
  const proxy = proxyFor(options.egress ?? DIRECT, host);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const target = proxy ? { host: proxy.host!, port: effectivePort(proxy)! } : { host, port };
  const policy = options.egress?.policy;
  if (!proxy && policy && !egressVerdict(policy, host, port, 'tcp').allowed) return Promise.reject(new EgressRefused(host, port));
  return new Promise((resolve, reject) => {
    const socket = netConnect(target);
    socket.setNoDelay(true);
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: NodeJS.ErrnoException) => fail(proxy && !(error instanceof ProxyError) ? unreachable(proxy, error) : error);
    const onAbort = () => fail(Object.assign(new Error('cancelled'), { code: 'ABORT_ERR' }));
    const timer = setTimeout(
      () => fail(proxy ? new ProxyError(`the proxy ${proxyAddress(proxy)} did not ${socket.connecting ? 'accept the connection' : `open the connection to ${hostText(host)}:${port}`} within ${timeoutMs / 1000} s`, 'timed out') : Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    // `onError` stays: once settled it does nothing, and a late error with no other listener must not end platformd.
    const cleanup = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    socket.on('error', onError);
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      const handshake = !proxy ? Promise.resolve() : proxy.scheme === 'socks5' ? socks5Handshake(socket, proxy, host, port) : httpConnect(socket, proxy, host, port);
      handshake.then(() => {
        if (settled) return;
        settled = true;
        cleanup();
        resolve(socket);
      }, fail);
    });
  });
}

function unreachable(proxy: NetworkUri, error: NodeJS.ErrnoException): ProxyError {
  const why: Record<string, [string, ProxyError['outcome']]> = {
    ECONNREFUSED: ['connection refused: nothing listens there', 'refused'],
    ECONNRESET: ['it closed the connection', 'failed'],
    ETIMEDOUT: ['no answer in time', 'timed out'],
    EHOSTUNREACH: ['no route to it', 'refused'],
    ENETUNREACH: ['no route to it', 'refused'],
    ENOTFOUND: ['its name does not resolve', 'failed'],
    EAI_AGAIN: ['its name does not resolve', 'failed'],
  };
  const [text, outcome] = why[error.code ?? ''] ?? [error.message, 'failed'];
  return new ProxyError(`the proxy ${proxyAddress(proxy)} cannot be reached: ${text}${error.code ? ` (${error.code})` : ''}`, outcome);
}

/**
 * Reads the proxy's answers in paused mode, so that nothing the destination
 * sends after them is lost. It pulls bytes from the socket only while a
 * step waits for them, never more than `limit` in all; `finish` puts back
 * what was read beyond the handshake.
 */
function answerReader(socket: Socket, proxy: NetworkUri, limit: number) {
  let buffer = Buffer.alloc(0);
  let consumed = 0;
  let waiting: { test: () => boolean; resolve: () => void; reject: (error: Error) => void } | undefined;
  let ended: Error | undefined;
  const stop = (error: Error) => {
    ended ??= error;
    const w = waiting;
    waiting = undefined;
    w?.reject(ended);
  };
  const pull = () => {
    while (waiting && !waiting.test()) {
      const room = limit - consumed;
      if (room <= 0) return stop(new ProxyError(`the proxy ${proxyAddress(proxy)} answered more than ${limit} bytes without completing its answer: refused`));
      if (socket.readableLength === 0) {
        socket.read(0); // ask for more; 'readable' comes back when it is there
        return;
      }
      const chunk = socket.read(Math.min(socket.readableLength, room)) as Buffer | null;
      if (chunk === null) return;
      consumed += chunk.length;
      buffer = Buffer.concat([buffer, chunk]);
    }
    const w = waiting;
    waiting = undefined;
    w?.resolve();
  };
  const onEnd = () => stop(new ProxyError(`the proxy ${proxyAddress(proxy)} closed the connection during its answer`));
  socket.on('readable', pull);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  const wait = (test: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      if (test()) return resolve();
      if (ended) return reject(ended);
      waiting = { test, resolve, reject };
      pull();
    });
  const detach = () => {
    socket.off('readable', pull);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
  };
  return {
    /** Waits for `n` bytes and takes them. */
    async take(n: number): Promise<Buffer> {
      await wait(() => buffer.length >= n);
      const taken = buffer.subarray(0, n);
      buffer = buffer.subarray(n);
      return taken;
    },
    /** Waits for `delimiter` and takes everything up to it (the delimiter included). */
    async through(delimiter: string): Promise<Buffer> {
      await wait(() => buffer.includes(delimiter));
      const end = buffer.indexOf(delimiter) + delimiter.length;
      const taken = buffer.subarray(0, end);
      buffer = buffer.subarray(end);
      return taken;
    },
    finish() {
      detach();
      if (buffer.length) socket.unshift(buffer);
    },
    abandon: detach,
  };
}

async function withReader<T>(socket: Socket, proxy: NetworkUri, limit: number, talk: (reader: ReturnType<typeof answerReader>) => Promise<T>): Promise<T> {
  const reader = answerReader(socket, proxy, limit);
  try {
    const result = await talk(reader);
    reader.finish();
    return result;
  } catch (error) {
    reader.abandon();
    throw error;
  }
}

/** Printable text of at most `max` characters from a hostile answer (a proxy's, a server's). */
export const printable = (text: string, max = 120) => text.replace(/[^\x20-\x7e]/g, '?').slice(0, max);

/** HTTP CONNECT (RFC 9110 9.3.6): a 2xx opens the tunnel; anything else is refused with the proxy's own words. */
async function httpConnect(socket: Socket, proxy: NetworkUri, host: string, port: number): Promise<void> {
  const authority = `${hostText(host)}:${port}`;
  const credentials = proxy.user !== undefined ? `Proxy-Authorization: Basic ${Buffer.from(`${proxy.user}:${proxy.password ?? ''}`).toString('base64')}\r\n` : '';
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${credentials}\r\n`);
  const head = (await withReader(socket, proxy, MAX_PROXY_HEAD_BYTES, (reader) => reader.through('\r\n\r\n'))).toString('latin1');
  const statusLine = head.slice(0, head.indexOf('\r\n'));
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) throw new ProxyError(`the proxy ${proxyAddress(proxy)} did not answer as an HTTP proxy ("${printable(statusLine, 60)}")`);
  const status = Number(match[1]);
  if (status >= 200 && status < 300) return;
  const outcome = status === 502 || status === 503 ? 'refused' : status === 504 ? 'timed out' : 'failed';
  const hint = status === 407 ? (proxy.user === undefined ? '; the proxy wants a user and password: network proxy http://user:password@host:port' : '; check the user and password of "network proxy"') : '';
  throw new ProxyError(`the proxy ${proxyAddress(proxy)} refused the connection to ${authority}: ${status}${match[2] ? ` ${printable(match[2])}` : ''}${hint}`, outcome);
}

// RFC 1928 / 1929.
const SOCKS_VERSION = 5;
const SOCKS_AUTH_VERSION = 1;
const SOCKS_NO_AUTH = 0x00;
const SOCKS_USER_PASSWORD = 0x02;
const SOCKS_NO_ACCEPTABLE = 0xff;
const SOCKS_CONNECT = 0x01;
const ATYP = { ipv4: 0x01, domain: 0x03, ipv6: 0x04 } as const;
/** RFC 1928 section 6, by REP code: what the proxy says, and what a probe reports. */
const SOCKS_REPLIES: Record<number, [string, ProxyError['outcome']]> = {
  1: ['general SOCKS server failure', 'failed'],
  2: ['connection not allowed by its rules', 'failed'],
  3: ['network unreachable', 'timed out'],
  4: ['host unreachable', 'timed out'],
  5: ['connection refused by the destination', 'refused'],
  6: ['TTL expired', 'timed out'],
  7: ['command not supported', 'failed'],
  8: ['address type not supported', 'failed'],
};
/** The longest exchange a SOCKS5 proxy may answer: method (2) + auth status (2) + reply (4 + 1 + 255 + 2). */
const SOCKS_ANSWER_LIMIT = 2 + 2 + 4 + 1 + SOCKS_FIELD_MAX + 2;

function socksAddress(host: string): Buffer {
  const family = isIP(host);
  if (family === 4) return Buffer.from([ATYP.ipv4, ...host.split('.').map(Number)]);
  if (family === 6) return Buffer.concat([Buffer.from([ATYP.ipv6]), ipv6Bytes(host)]);
  // socks5h: the proxy resolves the name.
  const name = Buffer.from(host, 'ascii');
  if (name.length === 0 || name.length > SOCKS_FIELD_MAX) throw new ProxyError(`${host} is too long a name for SOCKS5`);
  return Buffer.concat([Buffer.from([ATYP.domain, name.length]), name]);
}

/** The 16 bytes of an IPv6 address (`::` expanded, an embedded IPv4 tail converted). */
function ipv6Bytes(address: string): Buffer {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -v4[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const head = left ? left.split(':') : [];
  const tail = right ? right.split(':') : [];
  const groups = right === undefined ? head : [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

async function socks5Handshake(socket: Socket, proxy: NetworkUri, host: string, port: number): Promise<void> {
  const where = proxyAddress(proxy);
  const destination = `${hostText(host)}:${port}`;
  const address = socksAddress(host);
  const withCredentials = proxy.user !== undefined;
  await withReader(socket, proxy, SOCKS_ANSWER_LIMIT, async (reader) => {
    socket.write(Buffer.from([SOCKS_VERSION, 1, withCredentials ? SOCKS_USER_PASSWORD : SOCKS_NO_AUTH]));
    const [version, method] = await reader.take(2);
    if (version !== SOCKS_VERSION) throw new ProxyError(`the proxy ${where} does not speak SOCKS5 (it answered version ${version}); is it an HTTP proxy? use http://`);
    if (method === SOCKS_NO_ACCEPTABLE) throw new ProxyError(`the proxy ${where} refused the connection: it accepts none of the offered authentication methods${withCredentials ? ' (user and password)' : '; it may want a user and password: network proxy socks5://user:password@host:port'}`);
    if (method !== (withCredentials ? SOCKS_USER_PASSWORD : SOCKS_NO_AUTH)) throw new ProxyError(`the proxy ${where} chose authentication method ${method}, which was not offered: refused`);
    if (withCredentials) {
      const user = Buffer.from(proxy.user!);
      const password = Buffer.from(proxy.password ?? '');
      socket.write(Buffer.concat([Buffer.from([SOCKS_AUTH_VERSION, user.length]), user, Buffer.from([password.length]), password]));
      const [, status] = await reader.take(2);
      if (status !== 0) throw new ProxyError(`the proxy ${where} refused the connection: it did not accept the user name and password of "network proxy"`);
    }
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16BE(port);
    socket.write(Buffer.concat([Buffer.from([SOCKS_VERSION, SOCKS_CONNECT, 0]), address, portBytes]));
    const [replyVersion, reply, , atyp] = await reader.take(4);
    if (replyVersion !== SOCKS_VERSION) throw new ProxyError(`the proxy ${where} answered SOCKS version ${replyVersion}, not 5: refused`);
    if (reply !== 0) {
      const [text, outcome] = SOCKS_REPLIES[reply!] ?? [`reply code ${reply}`, 'failed'];
      throw new ProxyError(`the proxy ${where} refused the connection to ${destination}: ${text}`, outcome);
    }
    // The bound address, by its type's length; then the bound port.
    const length = atyp === ATYP.ipv4 ? 4 : atyp === ATYP.ipv6 ? 16 : atyp === ATYP.domain ? (await reader.take(1))[0]! : -1;
    if (length < 0) throw new ProxyError(`the proxy ${where} answered an unknown address type ${atyp}: refused`);
    await reader.take(length + 2);
  });
}
