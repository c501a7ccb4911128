// The agent protocol's version headers come from the network: from anyone
// who reaches the agent's port (before they prove anything), and in the
// answers of any node the primary calls. Both ends read them by shape and
// bound (cluster/protocol-version.ts) before anything else: malformed,
// oversized, repeated or missing values are refused with a clear status and
// message, a version this build cannot speak is refused naming both, and the
// agent keeps serving. Agent and hostile peers run on 127.0.0.1.

import { createServer as createHttpsServer, type Server } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callAgent, startAgent } from '../../cluster/agent.js';
import { clusterFiles, ensureIdentity, type ClusterFiles } from '../../cluster/identity.js';
import { AGENT_PROTOCOL_VERSION, ProtocolMismatch, VERSION_HEADERS } from '../../cluster/protocol-version.js';
import type { Paths } from '../../core/paths.js';
import { freePort } from '../support/daemon.js';

const HOST = '127.0.0.1';
const NEXT = String(AGENT_PROTOCOL_VERSION + 1);
const FAR = String(AGENT_PROTOCOL_VERSION + 2);
let dir: string;
let files: ClusterFiles;
let agent: Server;
let port: number;
let served = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ps-agent-version-'));
  files = clusterFiles({ certs: dir } as Paths);
  await ensureIdentity(files, 'node');
  port = freePort();
  // A public route (anyone may reach it, as join/hello while a node is joinable) and a member's one.
  agent = await startAgent(files, port, { public: { hello: async () => ({ served: ++served }) }, members: { ping: async () => ({}) } }, () => false, () => undefined);
});
afterAll(async () => {
  agent.closeAllConnections();
  await new Promise((r) => agent.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `headerLines` as they are (no client library tidies them) and reads the whole answer. */
function raw(route: string, headerLines: string[]): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: HOST, port, rejectUnauthorized: false });
    let text = '';
    socket.on('secureConnect', () => socket.write([`POST /${route} HTTP/1.1`, 'Host: agent', 'Connection: close', 'Content-Length: 2', ...headerLines, '', '{}'].join('\r\n')));
    socket.on('data', (d) => (text += d));
    // An agent that refuses a request's headers may close before reading the rest: what it answered counts.
    socket.on('error', (error) => (text ? undefined : reject(error)));
    socket.on('close', () => {
      const [head = '', chunked = ''] = text.split('\r\n\r\n');
      // The body comes in chunks: the JSON is what lies between its first { and its last }.
      resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: chunked.slice(chunked.indexOf('{'), chunked.lastIndexOf('}') + 1) });
    });
  });
}
const versions = (protocol: string, product = '1.0.0') => [`${VERSION_HEADERS.protocol}: ${protocol}`, `${VERSION_HEADERS.product}: ${product}`];

describe('the agent, reading the version a request names', () => {
  it('serves the versions it speaks, its own and one apart, and names its own in every answer', async () => {
    for (const protocol of [String(AGENT_PROTOCOL_VERSION), NEXT]) {
      const answer = await raw('hello', versions(protocol));
      expect(answer.status).toBe(200);
      expect(answer.headers).toContain(`${VERSION_HEADERS.protocol}: ${AGENT_PROTOCOL_VERSION}\r\n`);
    }
  });

  it('refuses a version it cannot speak with 426, naming both versions, before any route runs', async () => {
    const before = served;
    const answer = await raw('hello', versions(FAR, '9.0.0'));
    expect(answer.status).toBe(426);
    expect(answer.headers).toContain(`${VERSION_HEADERS.protocol}: ${AGENT_PROTOCOL_VERSION}\r\n`);
    expect(JSON.parse(answer.body).error).toBe(`the request speaks agent protocol ${FAR} (platform 9.0.0); this node speaks ${AGENT_PROTOCOL_VERSION} and works with ${Math.max(1, AGENT_PROTOCOL_VERSION - 1)} to ${NEXT}`);
    expect(served).toBe(before);
  });

  it.each([
    ['missing', [], 'names no agent protocol version'],
    ['empty', versions(''), 'not a protocol version'],
    ['a word', versions('one'), 'not a protocol version'],
    ['a fraction', versions('1.0'), 'not a protocol version'],
    ['negative', versions('-1'), 'not a protocol version'],
    ['zero', versions('0'), 'not a protocol version'],
    ['a leading zero', versions('01'), 'not a protocol version'],
    ['hexadecimal', versions('0x1'), 'not a protocol version'],
    ['an exponent', versions('1e3'), 'not a protocol version'],
    ['five digits', versions('10000'), 'not a protocol version'],
    ['four hundred digits', versions('1'.repeat(400)), 'not a protocol version'],
    ['named twice', [`${VERSION_HEADERS.protocol}: 1`, ...versions('1')], 'not a protocol version'],
    ['no product version', [`${VERSION_HEADERS.protocol}: 1`], 'not a product version'],
    ['a product version too long', versions('1', '1'.repeat(65)), 'not a product version'],
    ['a product version with spaces', versions('1', '1.0 beta'), 'not a product version'],
    ['a product version with a path', versions('1', '../../etc'), 'not a product version'],
    ['a product version with markup', versions('1', '<b>1</b>'), 'not a product version'],
  ])('refuses a version header that is %s with 400, even on a members-only route, and names its own', async (_, lines, problem) => {
    for (const route of ['hello', 'ping']) {
      const answer = await raw(route, lines);
      expect(answer.status).toBe(400);
      expect(answer.headers).toContain(`${VERSION_HEADERS.protocol}: ${AGENT_PROTOCOL_VERSION}\r\n`);
      expect(JSON.parse(answer.body).error).toContain(problem);
      expect(JSON.parse(answer.body).error).toContain(`this node speaks agent protocol ${AGENT_PROTOCOL_VERSION}`);
    }
  });

  it('drops a header larger than its bound before reading it, and keeps serving', async () => {
    const answer = await raw('hello', versions('1'.repeat(64 * 1024)));
    expect(answer.status).toBe(431);
    expect((await raw('hello', versions(String(AGENT_PROTOCOL_VERSION)))).status).toBe(200);
  });
});

describe('a node calling another, reading the version its answer names', () => {
  let peer: Server;
  let peerPort: number;
  /** The headers the hostile peer answers with next. */
  let answerHeaders: Record<string, string | string[]> = {};
  beforeAll(async () => {
    peerPort = freePort();
    peer = createHttpsServer({ key: readFileSync(files.key), cert: readFileSync(files.cert) }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', ...answerHeaders }).end(JSON.stringify({ secret: 'what the peer wants believed' })));
    });
    await new Promise<void>((r) => peer.listen(peerPort, HOST, r));
  });
  afterAll(async () => {
    peer.closeAllConnections();
    await new Promise((r) => peer.close(r));
  });
  const call = () => callAgent<{ secret: string }>(files, HOST, peerPort, 'hello', {}, { asMember: false });
  const answering = (protocol: string | string[] | null, product: string | null) => {
    answerHeaders = {};
    if (protocol !== null) answerHeaders[VERSION_HEADERS.protocol] = protocol;
    if (product !== null) answerHeaders[VERSION_HEADERS.product] = product;
  };

  it('takes an answer in its own version or one apart, with the versions it named', async () => {
    answering(NEXT, '9.1.0');
    expect(await call()).toMatchObject({ body: { secret: expect.any(String) }, versions: { protocol: Number(NEXT), product: '9.1.0' } });
  });

  it('refuses an answer in a version it cannot speak, naming both, and never hands on its body', async () => {
    answering(FAR, '9.0.0');
    const refused = await call().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ProtocolMismatch);
    expect((refused as ProtocolMismatch).theirs).toEqual({ protocol: Number(FAR), product: '9.0.0' });
    expect((refused as Error).message).toMatch(new RegExp(`^${HOST}: speaks agent protocol ${FAR} \\(platform 9\\.0\\.0\\); this node speaks ${AGENT_PROTOCOL_VERSION} \\(platform [^)]+\\) and works with`));
  });

  it.each([
    ['missing', null, '1.0.0', 'names no agent protocol version'],
    ['oversized', '9'.repeat(10_000), '1.0.0', 'not a protocol version'],
    ['not a number', 'NaN', '1.0.0', 'not a protocol version'],
    ['named twice', ['1', '1'], '1.0.0', 'not a protocol version'],
    ['without a product version', '1', null, 'not a product version'],
    ['with an oversized product version', '1', 'v'.repeat(10_000), 'not a product version'],
  ])('refuses an answer whose version is %s', async (_, protocol, product, problem) => {
    answering(protocol, product);
    await expect(call()).rejects.toThrow(`${HOST}: the agent's answer`);
    await expect(call()).rejects.toThrow(problem);
  });
});
