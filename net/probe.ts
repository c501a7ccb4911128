// Probes for support staff: resolve a name, open a TCP connection (the way
// every outbound connection goes: net/connector.ts, through the proxy when
// one is set), look at a TLS server's certificate,
// log in over SFTP. Every probe is bounded in time and says what happened in
// words: ok, refused, timed out, TLS intercepted.

import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { stat } from 'node:fs/promises';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { NetworkUri } from './uri.js';
import { connectOut, EgressRefused, ProxyError, proxyFor, DIRECT, type Egress } from './connector.js';
import { defaultPort } from '../catalog/derive.js';

export type Outcome = 'ok' | 'egress refused' | 'refused' | 'unreachable' | 'timed out' | 'unresolved' | 'tls intercepted' | 'tls untrusted' | 'failed';

export interface ProbeResult {
  outcome: Outcome;
  detail: string;
  ms?: number;
}

export const DEFAULT_TIMEOUT_MS = 3000;

export function outcomeOf(error: NodeJS.ErrnoException): ProbeResult {
  if (error instanceof EgressRefused) return { outcome: 'egress refused', detail: error.message };
  // A proxy that says no (an HTTP status, a SOCKS reply) refused the connection on the way.
  if (error instanceof ProxyError) return { outcome: error.outcome === 'failed' ? 'refused' : error.outcome, detail: error.message };
  switch (error.code) {
    case 'ECONNREFUSED':
      return { outcome: 'refused', detail: 'connection refused: nothing listens there, or a firewall rejects it' };
    case 'ECONNRESET':
      return { outcome: 'refused', detail: 'the connection was reset: a firewall or the server cut it' };
    case 'ETIMEDOUT':
      return { outcome: 'timed out', detail: 'no answer in time: a firewall drops it, or the host is unreachable' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { outcome: 'unresolved', detail: `the name does not resolve (${error.code})` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EACCES':
    case 'EPERM':
      // A route that prohibits it, an ICMP unreachable, or the node's own firewall rejecting the packet.
      return { outcome: 'unreachable', detail: `no route to it (${error.code})` };
    default:
      return { outcome: 'failed', detail: error.message };
  }
}

export interface ProbeOptions {
  egress?: Egress;
  timeoutMs?: number;
  /** Ends the probe at once (diag connectivity's deadline for each flow). */
  signal?: AbortSignal;
}

const connectVia = (host: string, port: number, options: ProbeOptions) => connectOut(host, port, { egress: options.egress, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: options.signal });

export async function probeTcp(host: string, port: number, options: ProbeOptions = {}): Promise<ProbeResult> {
  const start = performance.now();
  try {
    const socket = await connectVia(host, port, options);
    socket.destroy();
    const proxy = proxyFor(options.egress ?? DIRECT, host);
    return { outcome: 'ok', detail: `connected${proxy ? ` through the ${proxy.scheme === 'socks5' ? 'SOCKS5' : 'HTTP'} proxy` : ''}`, ms: performance.now() - start };
  } catch (error) {
    return { ...outcomeOf(error as NodeJS.ErrnoException), ms: performance.now() - start };
  }
}

export async function resolveName(host: string): Promise<ProbeResult & { addresses?: string[] }> {
  const start = performance.now();
  try {
    const addresses = (await lookup(host, { all: true })).map((a) => a.address);
    return { outcome: 'ok', detail: addresses.join(', '), addresses, ms: performance.now() - start };
  } catch (error) {
    return outcomeOf(error as NodeJS.ErrnoException);
  }
}

/**
 * Looks at the certificate a TLS server presents: its issuer, and whether it
 * chains to a trusted root. A private issuer in front of a public name
 * usually means a proxy is inspecting TLS.
 */
export async function probeTls(host: string, port: number, options: ProbeOptions & { ca?: string[]; ownFingerprint?: string } = {}): Promise<ProbeResult & { issuer?: string }> {
  const start = performance.now();
  let raw: Socket;
  try {
    raw = await connectVia(host, port, options);
  } catch (error) {
    return outcomeOf(error as NodeJS.ErrnoException);
  }
  return new Promise((resolve) => {
    // SNI carries names only (Node 26 refuses an IP address as servername).
    const socket = tlsConnect({ socket: raw, servername: isIP(host) ? undefined : host, rejectUnauthorized: false, ca: options.ca }, () => {
      const cert = socket.getPeerX509Certificate();
      const issuer = cert?.issuer.replace(/\n/g, ', ') ?? 'none';
      const ms = performance.now() - start;
      const error = socket.authorizationError as unknown as string | Error | null;
      socket.destroy();
      if (socket.authorized) return resolve({ outcome: 'ok', detail: `certificate issued by ${issuer}, trusted`, issuer, ms });
      const reason = String(error instanceof Error ? error.message : error);
      // A self-signed certificate is the server's own, not an inspecting proxy's: this node's, or one whose issuer is its subject.
      if (cert && options.ownFingerprint && cert.fingerprint256 === options.ownFingerprint) {
        return resolve({ outcome: 'ok', detail: `this node's own web certificate (issued by ${issuer}); no TLS inspection on the way`, issuer, ms });
      }
      if (cert && cert.issuer === cert.subject && cert.checkIssued(cert)) {
        return resolve({ outcome: 'tls untrusted', detail: `the server's own self-signed certificate (issuer = subject: ${issuer}), not TLS inspection; trust it or give the server a CA-signed one`, issuer, ms });
      }
      const untrustedIssuer = /UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED/i.test(reason);
      if (untrustedIssuer) return resolve({ outcome: 'tls intercepted', detail: `certificate issued by ${issuer}, which no trusted root vouches for (${reason}): TLS inspection is likely`, issuer, ms });
      resolve({ outcome: 'tls untrusted', detail: `certificate issued by ${issuer} is not accepted: ${reason}`, issuer, ms });
    });
    socket.setTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    socket.on('error', (error) => resolve(outcomeOf(error as NodeJS.ErrnoException)));
  });
}

/** Logs in over SFTP (ssh2), writes a test file in the path and deletes it. */
export async function probeSftp(uri: NetworkUri, options: ProbeOptions & { privateKey?: Buffer } = {}): Promise<ProbeResult> {
  const { Client } = (await import('ssh2')).default;
  const start = performance.now();
  const port = uri.port ?? defaultPort('ssh');
  let sock: Socket;
  try {
    sock = await connectVia(uri.host!, port, options);
  } catch (error) {
    return outcomeOf(error as NodeJS.ErrnoException);
  }
  return new Promise((resolve) => {
    const client = new Client();
    let finished = false;
    const done = (result: ProbeResult) => {
      if (finished) return;
      finished = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.end();
      sock.destroy();
      resolve({ ...result, ms: performance.now() - start });
    };
    const onAbort = () => done({ outcome: 'timed out', detail: 'the SFTP server did not finish the login and test write in time' });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', (error) => done({ outcome: 'failed', detail: /authentication/i.test(error.message) ? `login refused for ${uri.user}` : error.message }));
    client.on('ready', () => {
      client.sftp((error, sftp) => {
        if (error) return done({ outcome: 'failed', detail: `no SFTP subsystem: ${error.message}` });
        const dir = uri.path && uri.path !== '/' ? uri.path.replace(/\/$/, '') : '.';
        const file = `${dir}/.platform-write-test-${process.pid}`;
        sftp.writeFile(file, 'platform connectivity test\n', (writeError) => {
          if (writeError) return done({ outcome: 'failed', detail: `logged in, but cannot write in ${dir}: ${writeError.message}` });
          sftp.unlink(file, (unlinkError) => {
            if (unlinkError) return done({ outcome: 'failed', detail: `wrote ${file} but cannot delete it: ${unlinkError.message}` });
            done({ outcome: 'ok', detail: `logged in as ${uri.user}, wrote and deleted a test file in ${dir}` });
          });
        });
      });
    });
    client.connect({ sock, username: uri.user, password: uri.password, privateKey: options.privateKey, readyTimeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  });
}

/** A local folder (file:// locations): it must exist and be a folder. */
export async function probeFolder(path: string): Promise<ProbeResult> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? { outcome: 'ok', detail: `${path} is a folder` } : { outcome: 'failed', detail: `${path} is not a folder` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { outcome: 'failed', detail: code === 'ENOENT' ? `${path} does not exist` : `${path}: ${code ?? (error as Error).message}` };
  }
}

// NTP (RFC 5905): a 48-byte client packet, the answer read and checked.
const NTP_PACKET_BYTES = 48;
/** An answer may carry extension fields and a MAC after its 48 bytes; anything larger is not an NTP answer. */
const NTP_ANSWER_MAX_BYTES = 1024;
/** Seconds from the NTP era (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;
const NTP_MODE_CLIENT = 3;
const NTP_MODE_SERVER = 4;
const NTP_VERSION = 4;
/** Leap indicator 3: the server's clock is not synchronised. Stratum 16: likewise (RFC 5905 7.3). */
const NTP_LEAP_ALARM = 3;
const NTP_STRATUM_UNSYNCHRONISED = 16;

/** Why an answer is not an answer to `request` (ignored then), or undefined for a well-formed one. */
export function ntpAnswerFault(answer: Buffer, request: Buffer): string | undefined {
  if (answer.length < NTP_PACKET_BYTES || answer.length > NTP_ANSWER_MAX_BYTES) return `${answer.length} bytes`;
  const version = (answer[0]! >> 3) & 0x07;
  if (version < 1 || version > NTP_VERSION) return `version ${version}`;
  if ((answer[0]! & 0x07) !== NTP_MODE_SERVER) return `mode ${answer[0]! & 0x07}`;
  if (!answer.subarray(24, 32).equals(request.subarray(40, 48))) return 'not this request\'s origin timestamp';
  if (answer.readUInt32BE(40) === 0 && answer.readUInt32BE(44) === 0) return 'no transmit timestamp';
  return undefined;
}

/**
 * Asks an NTP server for the time over UDP, as a client does: ok only with a
 * server answer to this very request, from that server's address and port
 * (the socket is connected, so datagrams from anyone else never reach it, and
 * an ICMP port unreachable ends the probe as refused).
 */
export async function probeNtp(host: string, port: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ProbeResult> {
  const start = performance.now();
  // An address is its own answer: no lookup waits in libuv's thread pool for it.
  const resolved = isIP(host) ? { outcome: 'ok' as const, detail: host, addresses: [host] } : await resolveName(host);
  const address = resolved.addresses?.[0];
  if (!address) return resolved;
  const request = Buffer.alloc(NTP_PACKET_BYTES);
  request[0] = (NTP_VERSION << 3) | NTP_MODE_CLIENT;
  // The transmit timestamp: a server copies it into its answer's origin field, which ties the answer to this request.
  const sent = Date.now();
  request.writeUInt32BE(Math.floor(sent / 1000) + NTP_UNIX_OFFSET, 40);
  request.writeUInt32BE(Math.floor(Math.random() * 0xffffffff), 44);
  const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  const where = `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
  return new Promise((resolve) => {
    let finished = false;
    const done = (result: ProbeResult) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.close();
      resolve({ ...result, ms: performance.now() - start });
    };
    const silence = () => done({ outcome: 'timed out', detail: `no NTP answer from ${where} in time: UDP ${port} is dropped, or no time server runs there` });
    const onAbort = silence;
    const timer = setTimeout(silence, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ECONNREFUSED' ? { outcome: 'refused', detail: `${where} answered ICMP port unreachable: no time server runs there, or a firewall rejects UDP ${port}` } : outcomeOf(error)),
    );
    socket.on('message', (answer) => {
      // Anything else arriving is not the answer: only a well-formed reply to this request ends the probe.
      if (ntpAnswerFault(answer, request) !== undefined) return;
      const stratum = answer[1]!;
      if (stratum === 0) return done({ outcome: 'failed', detail: `${address} answered "kiss of death" (${answer.subarray(12, 16).toString('latin1').replace(/[^ -~]/g, '?')}): it refuses to serve this node` });
      if (answer[0]! >> 6 === NTP_LEAP_ALARM || stratum >= NTP_STRATUM_UNSYNCHRONISED) return done({ outcome: 'failed', detail: `${address} answered, but its own clock is not synchronised (stratum ${stratum}): it cannot set this node's time` });
      const serverSeconds = answer.readUInt32BE(40) - NTP_UNIX_OFFSET + answer.readUInt32BE(44) / 2 ** 32;
      const offset = serverSeconds - (sent + Date.now()) / 2000;
      done({ outcome: 'ok', detail: `NTP answer from ${address}: stratum ${stratum}, clock offset ${offset.toFixed(3)} s` });
    });
    // Node hands a failed connect (a prohibit route: EACCES) to this callback, not to 'error'.
    socket.connect(port, address, ((error?: NodeJS.ErrnoException) => {
      if (finished) return;
      if (error) return done(outcomeOf(error));
      socket.send(request, (error) => {
        if (error) done(outcomeOf(error as NodeJS.ErrnoException));
      });
    }) as () => void);
  });
}
