// The cluster agent is reachable by anyone who reaches its port, before they
// prove anything: its connections are bounded per source address and in
// total (slots kept for the inventory's members), and in time (TLS
// handshake, headers, whole request, idle keep-alive). An attacker holding
// hundreds of slow connections keeps its share and no more, and a member
// is served throughout. (Before: 4,000 slow TLS connections held ~3,900
// descriptors, and a member's `cluster run` waited up to 10.4 s.)
//
// The attacker connects from 127.0.0.2, the member from 127.0.0.1: the
// agent tells them apart by address, as it does on a real network.

import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_LIMITS, callAgent, startAgent } from '../../cluster/agent.js';
import { AGENT_PROTOCOL_VERSION, VERSION_HEADERS } from '../../cluster/protocol-version.js';
import { clusterFiles, ensureCa, ensureIdentity, installMembership, issueNodeCertificate, type ClusterFiles } from '../../cluster/identity.js';
import type { Paths } from '../../core/paths.js';
import { freePort } from '../support/daemon.js';
import { until } from '../support/until.js';

const ATTACKER = '127.0.0.2';
const MEMBER = '127.0.0.1';
let dir: string;
let agent: Server;
let port: number;
let member: ClusterFiles;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ps-agent-bounds-'));
  const node = clusterFiles({ certs: join(dir, 'node') } as Paths);
  member = clusterFiles({ certs: join(dir, 'member') } as Paths);
  await ensureIdentity(node, 'node');
  await ensureCa(node, 'test');
  installMembership(node, readFileSync(node.ca, 'utf8'), await issueNodeCertificate(node, readFileSync(node.cert, 'utf8'), 'node', MEMBER));
  await ensureIdentity(member, 'member');
  installMembership(member, readFileSync(node.ca, 'utf8'), await issueNodeCertificate(node, readFileSync(member.cert, 'utf8'), 'member', MEMBER));
  const memberFingerprint = new X509Certificate(readFileSync(member.cert)).fingerprint256;
  port = freePort();
  agent = await startAgent(node, port, { public: {}, members: { echo: async (body) => ({ echo: body }) } }, (fingerprint) => fingerprint === memberFingerprint, () => undefined, (address) => address === MEMBER);
});
afterAll(async () => {
  agent.closeAllConnections();
  await new Promise((r) => agent.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Connections from the attacker's address, each reporting whether it is still open. */
function attack(count: number, open: (socket: Socket) => void = () => undefined) {
  const sockets: { socket: Socket; closed: boolean }[] = [];
  for (let i = 0; i < count; i++) {
    const entry = { socket: netConnect({ host: MEMBER, port, localAddress: ATTACKER }), closed: false };
    entry.socket.on('error', () => undefined);
    entry.socket.on('close', () => (entry.closed = true));
    entry.socket.on('connect', () => open(entry.socket));
    sockets.push(entry);
  }
  return { alive: () => sockets.filter((s) => !s.closed).length, end: () => sockets.forEach((s) => s.socket.destroy()) };
}

const memberEcho = async (value: number) => (await callAgent<{ echo: unknown }>(member, MEMBER, port, 'echo', { value }, { asMember: true })).body;

describe('the cluster agent under slow connections', () => {
  it('holds at most its per-source share of 400 slow TLS connections, serves a member meanwhile, and closes them after the handshake time', async () => {
    // Connections that never start their TLS handshake (fewer than the listen backlog, so that each gets its answer at once).
    const slow = attack(400);
    try {
      await until('the agent to drop what is past the per-source bound', () => slow.alive() <= AGENT_LIMITS.perSource, AGENT_LIMITS.handshakeMs - 1000);
      expect(slow.alive()).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) expect(await memberEcho(i)).toEqual({ echo: { value: i } });
      // Past the handshake time, the agent has closed those it held.
      await until('the agent to close connections that never finish their handshake', () => slow.alive() === 0, AGENT_LIMITS.handshakeMs + 5000);
    } finally {
      slow.end();
    }
  }, 30_000);

  it('closes slow bodies after the request time, and slow headers after the headers time', async () => {
    const started: { closed: boolean }[] = [];
    const trickle = (partialHeaders: boolean) => {
      const state = { closed: false };
      started.push(state);
      const socket = tlsConnect({ socket: netConnect({ host: MEMBER, port, localAddress: ATTACKER }), rejectUnauthorized: false });
      socket.on('error', () => undefined);
      socket.on('close', () => (state.closed = true));
      socket.on('secureConnect', () => {
        socket.write(partialHeaders ? 'POST /echo HTTP/1.1\r\nHost: agent\r\n' : 'POST /echo HTTP/1.1\r\nHost: agent\r\nContent-Length: 100000\r\n\r\n');
        const drip = setInterval(() => (socket.destroyed ? clearInterval(drip) : socket.write(partialHeaders ? 'X-Slow: 1\r\n' : 'a')), 500);
      });
    };
    for (let i = 0; i < 6; i++) trickle(i % 2 === 0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(started.filter((s) => !s.closed).length).toBe(6); // they got past the handshake: the request times bound them
    expect(await memberEcho(7)).toEqual({ echo: { value: 7 } });
    await until('the agent to close slow requests', () => started.every((s) => s.closed), AGENT_LIMITS.requestMs + 5000);
  }, 40_000);

  it('closes an idle kept-alive connection after its keep-alive time', async () => {
    const socket = tlsConnect({ socket: netConnect({ host: MEMBER, port, localAddress: ATTACKER }), rejectUnauthorized: false });
    let answer = '';
    let answeredAt = 0;
    let closedAt = 0;
    socket.on('error', () => undefined);
    socket.on('close', () => (closedAt = Date.now()));
    socket.on('data', (d) => {
      answer += d;
      if (answer.includes('404')) answeredAt ||= Date.now();
    });
    socket.on('secureConnect', () => socket.write(`POST /nothing HTTP/1.1\r\nHost: agent\r\n${VERSION_HEADERS.protocol}: ${AGENT_PROTOCOL_VERSION}\r\n${VERSION_HEADERS.product}: test\r\nContent-Length: 0\r\n\r\n`));
    await until('the agent to close an idle connection', () => closedAt > 0, AGENT_LIMITS.keepAliveMs + 15_000);
    // Answered, kept open while idle (half the keep-alive time at least, however late the events came), then closed.
    expect(answeredAt).toBeGreaterThan(0);
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(AGENT_LIMITS.keepAliveMs / 2);
  }, 30_000);

  it('keeps slots for members: strangers from many addresses together hold at most what is not kept', async () => {
    // Addresses of 127.0.1.0/24, each at its per-source bound: together more than the strangers' share.
    const per = AGENT_LIMITS.perSource;
    const addresses = Array.from({ length: Math.ceil((AGENT_LIMITS.connections - AGENT_LIMITS.keptForMembers) / per) + 4 }, (_, i) => `127.0.1.${i + 1}`);
    const sockets: { closed: boolean; socket: Socket }[] = [];
    for (const address of addresses) {
      for (let i = 0; i < per; i++) {
        const entry = { closed: false, socket: netConnect({ host: MEMBER, port, localAddress: address }) };
        entry.socket.on('error', () => undefined);
        entry.socket.on('close', () => (entry.closed = true));
        sockets.push(entry);
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    const held = sockets.filter((s) => !s.closed).length;
    expect(held).toBeLessThanOrEqual(AGENT_LIMITS.connections - AGENT_LIMITS.keptForMembers);
    expect(held).toBeGreaterThan(AGENT_LIMITS.connections - AGENT_LIMITS.keptForMembers - per);
    expect(await memberEcho(9)).toEqual({ echo: { value: 9 } });
    for (const s of sockets) s.socket.destroy();
  }, 30_000);
});

describe('a member route that works longer than the idle bound', () => {
  it('keeps its connection with 102 Processing and answers; an idle connection is still closed', async () => {
    const files = clusterFiles({ certs: join(dir, 'node') } as Paths);
    const timing = { idleMs: 1500, progressEveryMs: 500 };
    const memberFingerprint = new X509Certificate(readFileSync(member.cert)).fingerprint256;
    const slowPort = freePort();
    const slow = await startAgent(files, slowPort, { public: {}, members: { work: async () => new Promise((resolve) => setTimeout(() => resolve({ done: true }), 4000)) } }, (fingerprint) => fingerprint === memberFingerprint, () => undefined, (address) => address === MEMBER, timing);
    try {
      const started = Date.now();
      expect((await callAgent<{ done: boolean }>(member, MEMBER, slowPort, 'work', {}, { asMember: true, timeoutMs: 10_000 })).body).toEqual({ done: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
      // A connection that sends nothing is closed past the idle bound, work or no work.
      const idle = netConnect({ host: MEMBER, port: slowPort });
      idle.on('error', () => undefined);
      const closedAfter = await new Promise<number>((resolve) => {
        const opened = Date.now();
        idle.on('close', () => resolve(Date.now() - opened));
      });
      expect(closedAfter).toBeLessThan(10_000);
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });
});

