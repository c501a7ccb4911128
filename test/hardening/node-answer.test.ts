// A member's answer to `cluster run` is input from another machine: the
// primary checks its shape and bounds before it shows or returns any of it
// (core/protocol.ts parseNodeAnswer), and stops reading an answer past its
// size (cluster/agent.ts).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ANSWER_BYTES, callAgent } from '../../cluster/agent.js';
import { versionHeaders } from '../../cluster/protocol-version.js';
import { clusterFiles, ensureIdentity } from '../../cluster/identity.js';
import type { Paths } from '../../core/paths.js';
import { NODE_ANSWER_LIMITS, parseNodeAnswer, withinJsonBounds } from '../../core/protocol.js';

const result = (extra: Record<string, unknown> = {}) => ({ type: 'result', blocks: [{ kind: 'tree', value: { hostname: 'db01', roles: ['database'] } }], data: { hostname: 'db01', roles: ['database'] }, exitStatus: 0, ...extra });

/** `[[[...]]]` nested `depth` times, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

describe("a node's answer to cluster run", () => {
  it('takes a well-formed result and a well-formed error as they are', () => {
    expect(parseNodeAnswer(result())).toEqual({ ok: true, answer: result() });
    const error = { type: 'error', code: 'sslv3-unavailable', message: 'SSLv3 cannot be enabled', hints: [], exitStatus: 1 };
    expect(parseNodeAnswer(error)).toEqual({ ok: true, answer: error });
  });

  it.each([
    ['not an object', 'hello'],
    ['an unknown type', { type: 'progress', text: 'x' }],
    ['an extra key', result({ rendered: 'text' })],
    ['an exit status no command has', result({ exitStatus: 7 })],
    ['a block of an unknown kind', result({ blocks: [{ kind: 'html', text: '<b>' }] })],
    ['a table cell that is not text', result({ blocks: [{ kind: 'table', columns: ['a'], rows: [[{ toString: 'x' }]] }] })],
    ['data that is not JSON', result({ data: undefined })],
    ['too many blocks', result({ blocks: Array.from({ length: NODE_ANSWER_LIMITS.blocks + 1 }, () => ({ kind: 'text', text: '' })) })],
    ['a string past its bound', result({ blocks: [{ kind: 'text', text: 'x'.repeat(NODE_ANSWER_LIMITS.stringChars + 1) }] })],
    ['data nested past its bound', result({ data: nested(NODE_ANSWER_LIMITS.depth + 1) })],
    ['a tree nested past its bound', result({ blocks: [{ kind: 'tree', value: { deep: nested(NODE_ANSWER_LIMITS.depth + 1) } }] })],
    ['a list past its bound', result({ data: Array.from({ length: NODE_ANSWER_LIMITS.items + 1 }, () => 0) })],
    ['an error without its message', { type: 'error', code: 'x', hints: [], exitStatus: 1 }],
  ])('refuses %s, with a reason', (_what, raw) => {
    const parsed = parseNodeAnswer(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem.length).toBeGreaterThan(0);
  });

  it('measures a hostile nesting without overflowing the stack', () => {
    // Far deeper than any recursive walk survives.
    const deep = nested(1_000_000);
    expect(withinJsonBounds(deep)).toBe(false);
    expect(parseNodeAnswer(result({ data: deep }))).toMatchObject({ ok: false });
    expect(withinJsonBounds(nested(NODE_ANSWER_LIMITS.depth - 1))).toBe(true);
    expect(parseNodeAnswer(result({ data: nested(NODE_ANSWER_LIMITS.depth - 1) }))).toMatchObject({ ok: true });
  });
});

describe("the agent client's bound on an answer", () => {
  let dir: string;
  let server: Server;
  let port: number;
  let sent = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'node-answer-'));
    const files = clusterFiles({ certs: dir } as Paths);
    await ensureIdentity(files, 'peer');
    // A peer that never stops answering: one endless JSON string.
    server = createServer({ key: readFileSync(files.key), cert: readFileSync(files.cert) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', ...versionHeaders() });
      res.write('"');
      const chunk = 'x'.repeat(64 * 1024);
      const more = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', more);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops reading past AGENT_ANSWER_BYTES and says why', async () => {
    const files = clusterFiles({ certs: join(dir, 'not-a-member') } as Paths);
    await expect(callAgent(files, '127.0.0.1', port, 'run', {}, { asMember: false, timeoutMs: 30_000 })).rejects.toThrow(/answer is larger than 4 MiB/);
    // It read about the bound, not the endless rest.
    expect(sent).toBeLessThan(AGENT_ANSWER_BYTES * 4);
  });
});
