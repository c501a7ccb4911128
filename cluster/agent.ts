// The cluster agent: HTTPS with mutual TLS under the cluster CA. Members
// (a client certificate the CA issued) may run commands, provision and
// check; a node made joinable by `cluster prepnode` also answers the two
// join steps, proven by the one-time code.
//
// Anyone who reaches the port can open connections before proving anything,
// so they are bounded (AGENT_LIMITS): in number, per source address and in
// total, with slots kept for the addresses of the inventory's members; and
// in time, for the TLS handshake, the headers, the whole request, and idle.

import { X509Certificate, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ClusterFiles } from './identity.js';
import { NODE_ANSWER_LIMITS } from '../core/protocol.js';
import { AGENT_PROTOCOL_VERSION, ProtocolMismatch, compatibleVersions, readVersions, speaks, versionHeaders, type PeerVersions } from './protocol-version.js';

export const AGENT_TIMEOUT_MS = 5000;
/**
 * For the routes that change a node (join/complete, provision): they answer
 * once the store, the firewall and nginx have followed, which takes seconds on
 * a slow node; giving up earlier left a joined node its primary did not record.
 */
export const AGENT_WORK_TIMEOUT_MS = 60_000;

/** What one peer, and all of them, may hold of the agent before and while they prove anything. */
export const AGENT_LIMITS = {
  /** Connections at once, all sources together. */
  connections: 512,
  /**
   * Slots only the addresses of the inventory's members may take: the
   * others (a node joining, and anyone else) share what is left, 64, for
   * each of which TLS keeps its state until the handshake time ends.
   */
  keptForMembers: 448,
  /** Connections at once from one address that is not a member's. */
  perSource: 8,
  /** Connections at once from one member's address (a primary's `cluster run`, `check` and `provision` overlap). */
  perMember: 128,
  /** From connecting to a finished TLS handshake. */
  handshakeMs: 5000,
  /** From connecting to the end of a request's headers. */
  headersMs: 10_000,
  /** From connecting to the end of a whole request (bodies are at most 1 MB). */
  requestMs: 20_000,
  /** A kept-alive connection with no request. */
  keepAliveMs: 2000,
  /** No byte either way. A member's route that works longer keeps its connection alive (progressEveryMs). */
  idleMs: 65_000,
  /** While a member's route works (an upgrade installs for minutes on a slow node), a 102 Processing this often: neither side's idle bound ends it. */
  progressEveryMs: 20_000,
  /** How often the server looks for requests past their time. */
  checkEveryMs: 1000,
  /** The most a request's body may hold. */
  bodyBytes: 1_000_000,
  /** Connections the kernel queues until the agent accepts them (capped by net.core.somaxconn). */
  backlog: 4096,
} as const;

/** The proof a primary sends: the join code keyed over the nonce and the fingerprint it saw. */
export function joinProof(code: string, nonce: string, fingerprint: string): string {
  return createHmac('sha256', code.toUpperCase()).update(`${nonce}|${fingerprint}`).digest('hex');
}

export function proofMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(given, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface Peer {
  address: string;
  /** The SHA-256 fingerprint of the client certificate, '' without one. */
  fingerprint: string;
  member: boolean;
}

export type Route = (body: Record<string, unknown>, peer: Peer) => Promise<unknown>;

export interface AgentRoutes {
  /** Open to anyone while the node is joinable; the route checks that itself. */
  public: Record<string, Route>;
  /** Only for members: a client certificate issued by the cluster CA. */
  members: Record<string, Route>;
}

export class AgentError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Whether the peer's certificate was issued by our cluster CA and belongs to
 * a node of the inventory: a removed node's certificate stays valid, so the
 * inventory's fingerprints are what revokes it.
 */
function isMember(peer: X509Certificate | undefined, files: ClusterFiles, known: (fingerprint: string) => boolean): boolean {
  if (!peer || !existsSync(files.ca)) return false;
  const ca = new X509Certificate(readFileSync(files.ca));
  const now = new Date();
  return peer.checkIssued(ca) && peer.verify(ca.publicKey) && new Date(peer.validFrom) <= now && now < new Date(peer.validTo) && known(peer.fingerprint256);
}

/** An address as the inventory writes it (no IPv4-mapped IPv6 prefix). */
const plainAddress = (address: string | undefined) => (address ?? '').replace(/^::ffff:/, '');

/**
 * Admits or drops each new connection by where it comes from, before any
 * TLS: a source that is not a member holds at most `perSource`, all such
 * sources together what is not kept for members. The TLS server's own
 * listener, which sets up TLS for a connection, runs only for those admitted:
 * a dropped connection costs no TLS state.
 */
function boundConnections(server: Server, isMemberAddress: (address: string) => boolean): void {
  const bySource = new Map<string, number>();
  let open = 0;
  let strangers = 0;
  const setUpTls = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const address = plainAddress(socket.remoteAddress);
    const member = isMemberAddress(address);
    const held = bySource.get(address) ?? 0;
    const full =
      open >= AGENT_LIMITS.connections ||
      (member ? held >= AGENT_LIMITS.perMember : held >= AGENT_LIMITS.perSource || strangers >= AGENT_LIMITS.connections - AGENT_LIMITS.keptForMembers);
    if (full) return void socket.destroy();
    for (const listener of setUpTls) listener.call(server, socket);
    open += 1;
    if (!member) strangers += 1;
    bySource.set(address, held + 1);
    socket.once('close', () => {
      open -= 1;
      if (!member) strangers -= 1;
      const left = (bySource.get(address) ?? 1) - 1;
      if (left > 0) bySource.set(address, left);
      else bySource.delete(address);
    });
  });
}

export function startAgent(
  files: ClusterFiles,
  port: number,
  routes: AgentRoutes,
  known: (fingerprint: string) => boolean,
  log: (message: string) => void,
  isMemberAddress: (address: string) => boolean = () => false,
  /** The time bounds (tests shorten them). */
  timing: { idleMs: number; progressEveryMs: number } = AGENT_LIMITS,
): Promise<Server> {
  // Client certificates are checked per request (isMember), so that a node being joined can answer too.
  const server = createServer(
    {
      requestCert: true,
      rejectUnauthorized: false,
      key: readFileSync(files.key),
      cert: readFileSync(files.cert),
      handshakeTimeout: AGENT_LIMITS.handshakeMs,
      headersTimeout: AGENT_LIMITS.headersMs,
      requestTimeout: AGENT_LIMITS.requestMs,
      keepAliveTimeout: AGENT_LIMITS.keepAliveMs,
      connectionsCheckingInterval: AGENT_LIMITS.checkEveryMs,
    },
    (req, res) => void serve(req, res),
  );
  server.setTimeout(timing.idleMs, (socket) => socket.destroy());
  boundConnections(server, isMemberAddress);
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const route = (req.url ?? '').replace(/^\//, '');
    const socket = req.socket as TLSSocket;
    const certificate = socket.getPeerX509Certificate();
    const peer: Peer = { address: plainAddress(socket.remoteAddress), fingerprint: certificate?.fingerprint256 ?? '', member: isMember(certificate, files, known) };
    // Every answer, a refusal included, says which protocol this node speaks (cluster/protocol-version.ts).
    for (const [name, value] of Object.entries(versionHeaders())) res.setHeader(name, value);
    try {
      const asked = readVersions(req.headers);
      if (!asked.ok) throw new AgentError(400, `the request ${asked.problem}; this node speaks agent protocol ${AGENT_PROTOCOL_VERSION}`);
      if (!speaks(asked.versions.protocol)) {
        throw new AgentError(426, `the request speaks agent protocol ${asked.versions.protocol} (platform ${asked.versions.product}); this node speaks ${AGENT_PROTOCOL_VERSION} and works with ${compatibleVersions()}`);
      }
      const handler = routes.public[route] ?? (peer.member ? routes.members[route] : undefined);
      if (!handler) throw new AgentError(routes.members[route] ? 403 : 404, routes.members[route] ? 'not a cluster member' : `no route ${route}`);
      const body = await readBody(req);
      // Only a proven member's request may hold its connection past the idle bound, by working.
      const working = peer.member ? setInterval(() => !res.destroyed && res.writeProcessing(), timing.progressEveryMs) : undefined;
      let result: unknown;
      try {
        result = await handler(body, peer);
      } finally {
        clearInterval(working);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      const status = error instanceof AgentError ? error.status : 500;
      if (status === 500) log(`agent ${route}: ${(error as Error).stack ?? error}`);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (error as Error).message }));
    }
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A long queue of connections not yet accepted: a member's connection waits its turn behind an attacker's rather than being dropped by the kernel.
    server.listen({ port, backlog: AGENT_LIMITS.backlog }, () => resolve(server));
  });
}

/** Serves the node's current certificate (after joining: the one the CA issued) to new connections. */
export function reloadCertificate(server: Server, files: ClusterFiles): void {
  server.setSecureContext({ key: readFileSync(files.key), cert: readFileSync(files.cert) });
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
      if (text.length > AGENT_LIMITS.bodyBytes) req.destroy(new AgentError(413, 'request too large'));
    });
    req.on('end', () => {
      try {
        resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
      } catch {
        reject(new AgentError(400, 'the request is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

export interface CallOptions {
  /** Present our node certificate (members); without it only public routes answer. */
  asMember: boolean;
  timeoutMs?: number;
}

/** The most an agent's answer may hold (a whole `cluster run` reply included); reading stops past it. */
export const AGENT_ANSWER_BYTES = NODE_ANSWER_LIMITS.bytes;

export interface CallResult<T> {
  body: T;
  /** The SHA-256 fingerprint of the certificate the other node presented. */
  fingerprint: string;
  /** The protocol and product versions the other node's answer named. */
  versions: PeerVersions;
}

/** Calls a route on another node's agent. Members verify the other side against the cluster CA. */
export function callAgent<T>(files: ClusterFiles, address: string, port: number, route: string, body: unknown, options: CallOptions): Promise<CallResult<T>> {
  return new Promise((resolve, reject) => {
    const member = options.asMember && existsSync(files.ca);
    const req = httpsRequest(
      {
        host: address,
        port,
        path: `/${route}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...versionHeaders() },
        key: member ? readFileSync(files.key) : undefined,
        cert: member ? readFileSync(files.cert) : undefined,
        ca: member ? readFileSync(files.ca) : undefined,
        // Members check the other node's certificate against the CA; joining checks the fingerprint instead.
        rejectUnauthorized: member,
        checkServerIdentity: () => undefined,
        agent: false,
        timeout: options.timeoutMs ?? AGENT_TIMEOUT_MS,
      },
      (res) => {
        // The answer's versions first, before its body is read: a node of another protocol may mean anything by the rest.
        const answered = readVersions(res.headers);
        if (!answered.ok) return void req.destroy(new Error(`the agent's answer ${answered.problem}`));
        if (!speaks(answered.versions.protocol)) return void req.destroy(new ProtocolMismatch(address, answered.versions));
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          bytes += d.length;
          if (bytes > AGENT_ANSWER_BYTES) req.destroy(new Error(`the agent's answer is larger than ${AGENT_ANSWER_BYTES / 1024 / 1024} MiB`));
          else chunks.push(d);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const fingerprint = (res.socket as TLSSocket).getPeerX509Certificate?.()?.fingerprint256 ?? '';
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return reject(new Error(`${address}: the agent answered something that is not JSON`));
          }
          if (res.statusCode !== 200) return reject(new AgentError(res.statusCode ?? 500, `${address}: ${(parsed as { error?: string }).error ?? `status ${res.statusCode}`}`));
          resolve({ body: parsed as T, fingerprint, versions: answered.versions });
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`${address}: not responding (no answer in ${(options.timeoutMs ?? AGENT_TIMEOUT_MS) / 1000} s)`), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) =>
      error instanceof ProtocolMismatch ? reject(error) : reject(error.code === 'ECONNREFUSED' ? new Error(`${address}: not responding (nothing listens on ${port})`) : error.code === 'ETIMEDOUT' ? error : new Error(`${address}: ${error.message}`)),
    );
    req.end(JSON.stringify(body));
  });
}

export const newNonce = () => randomBytes(16).toString('hex');
