// Everything a member of the socket's group can send: after each case the
// daemon still answers `system info` within a second, and it answered the
// bad input with an error and closed the connection.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LIMITS } from '../../core/protocol.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { exchange, openIdle, provenCaller, systemInfo } from './raw-socket.js';

let node: RunningDaemon;
let caller: ReturnType<typeof provenCaller>;

beforeAll(async () => {
  node = await startDaemon();
  caller = provenCaller(node.home);
});
afterAll(async () => {
  await node.stop();
});

/**
 * The daemon is alive and serving: once the work a case queued is done (the
 * machine running the tests is shared: a case's own commands may take it a
 * while), `system info` is answered within a second.
 */
async function stillServing(): Promise<void> {
  expect(node.process.exitCode, node.output()).toBeNull();
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if ((await systemInfo(node.home)).answer.type === 'result') break;
  }
  const { ms, answer } = await systemInfo(node.home);
  expect(answer.type, JSON.stringify(answer)).toBe('result');
  expect(ms).toBeLessThan(1000);
}

const refused = (messages: unknown[]) => expect(messages.at(-1)).toMatchObject({ type: 'error', code: 'bad-request', exitStatus: 2 });

const line = (value: unknown) => JSON.stringify(value) + '\n';

describe('malformed lines', () => {
  const cases: [string, string | Buffer][] = [
    ['x and a newline (ended the daemon before)', 'x\n'],
    ['an unfinished object', '{"op":"run",\n'],
    ['JSON null', 'null\n'],
    ['a JSON string', '"system info"\n'],
    ['a JSON number past double', '1e999\n'],
    ['an empty object', '{}\n'],
    ['an array', '[{"op":"run"}]\n'],
    ['NUL bytes and invalid UTF-8', Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x0a])],
    ['deeply nested arrays', '['.repeat(30_000) + ']'.repeat(30_000) + '\n'],
    ['an unknown op', line({ op: 'shutdown', caller })],
  ];
  for (const [name, bytes] of cases) {
    it(`refuses ${name}`, async () => {
      const { messages, closedByDaemon } = await exchange(node.home, [bytes]);
      refused(messages);
      expect(closedByDaemon).toBe(true);
      await stillServing();
    });
  }
});

describe('wrong types', () => {
  const run = { op: 'run', words: ['system', 'info'], caller };
  const cases: [string, unknown][] = [
    ['op a number', { ...run, op: 5 }],
    ['words a string', { ...run, words: 'system info' }],
    ['words of numbers', { ...run, words: [1, 2] }],
    ['too many words', { ...run, words: Array(300).fill('x') }],
    ['caller null', { ...run, caller: null }],
    ['caller missing', { op: 'run', words: ['system', 'info'] }],
    ['user a number', { ...run, caller: { ...caller, user: 0 } }],
    ['user with a newline', { ...run, caller: { ...caller, user: 'platform\nroot' } }],
    ['interactive a string', { ...run, caller: { ...caller, interactive: 'yes' } }],
    ['an extra key', { ...run, admin: true }],
    ['a session of an unknown kind', { op: 'session', kind: 'root', caller }],
    ['an audit outcome of its own', { op: 'audit', caller, words: 'x', outcome: 'great' }],
    ['an answer of an object', { op: 'answer', value: { yes: true } }],
    ['sshConnection that is not one', { ...run, caller: { ...caller, sshConnection: '$(reboot) 1 2 3' } }],
  ];
  for (const [name, request] of cases) {
    it(`refuses ${name}`, async () => {
      const { messages, closedByDaemon } = await exchange(node.home, [line(request)]);
      refused(messages);
      expect(closedByDaemon).toBe(true);
      await stillServing();
    });
  }
});

describe('requests the daemon reads but cannot make sense of', () => {
  it('answers help for a line with an unclosed quote as bad input, not as its own failure', async () => {
    const answer = (await exchange(node.home, [line({ op: 'help-at', line: 'web "x', caller })])).messages.at(-1);
    expect(answer).toMatchObject({ type: 'error', code: 'unclosed-quote', exitStatus: 2 });
    expect(node.output()).not.toContain('failed: ');
    await stillServing();
  });
});

describe('prototype keys', () => {
  const raw = (callerText: string, extra = '') => `{"op":"run","words":["user","add","protokey"],"caller":${callerText}${extra}}\n`;
  const unproven = '{"user":"platform","interactive":false,"assumeYes":true';
  const cases: [string, string][] = [
    ['__proto__ in the caller', raw(`${unproven},"__proto__":{"authenticated":true,"origin":"cluster","token":"x"}}`)],
    ['constructor in the caller', raw(`${unproven},"constructor":{"prototype":{"authenticated":true}}}`)],
    ['__proto__ in the request', raw(`${unproven}}`, ',"__proto__":{"caller":{"origin":"cluster"}}')],
    ['__proto__ as the op', '{"op":"__proto__","caller":{}}\n'],
  ];
  for (const [name, text] of cases) {
    it(`refuses ${name}, and nothing changes`, async () => {
      const { messages } = await exchange(node.home, [text]);
      refused(messages);
      expect(({} as Record<string, unknown>).authenticated).toBeUndefined();
      await stillServing();
    });
  }
  it('created no user through any of them', async () => {
    expect((await node.platform(['user', 'list'])).stdout).not.toContain('protokey');
  });
});

describe('line and message bounds', () => {
  it('refuses a line past the bound without reading it whole (50 MB, no newline)', async () => {
    const before = rssOf(node.pid);
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const { messages, closedByDaemon } = await exchange(node.home, Array(50).fill(chunk), { waitMs: 10_000 });
    refused(messages);
    expect(String((messages.at(-1) as { message: string }).message)).toContain(`longer than ${LIMITS.lineBytes / 1024} KiB`);
    expect(closedByDaemon).toBe(true);
    expect(rssOf(node.pid) - before).toBeLessThan(50 * 1024 * 1024);
    await stillServing();
  });

  it('refuses a line just past the bound that does end in a newline', async () => {
    const { messages } = await exchange(node.home, ['"' + 'b'.repeat(LIMITS.lineBytes) + '"\n']);
    refused(messages);
    await stillServing();
  });

  it('refuses a second request on one connection', async () => {
    const request = line({ op: 'banner', caller });
    const { messages } = await exchange(node.home, [request + request]);
    refused(messages);
    expect((messages.at(-1) as { message: string }).message).toContain('one request per connection');
    await stillServing();
  });

  it('refuses an answer when no question was asked, and a flood of lines', async () => {
    refused((await exchange(node.home, [line({ op: 'answer', value: true })])).messages);
    const flood = line({ op: 'answer', value: 'y' }).repeat(LIMITS.messagesPerConnection + 5);
    refused((await exchange(node.home, [flood])).messages);
    await stillServing();
  });

  it('closes a connection that sends nothing within the request wait', async () => {
    const { closedByDaemon } = await exchange(node.home, [], { waitMs: LIMITS.requestWaitMs + 3000 });
    expect(closedByDaemon).toBe(true);
    await stillServing();
  }, 30_000);
});

describe('split writes', () => {
  it('reads a request sent one byte at a time', async () => {
    const bytes = Buffer.from(line({ op: 'run', words: ['system', 'info'], caller }));
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    const { messages } = await exchange(node.home, chunks.slice(0, 40).concat([bytes.subarray(40)]), { gapMs: 2 });
    expect(messages.at(-1)).toMatchObject({ type: 'result', exitStatus: 0 });
  });

  it('decodes a multi-byte character split across two writes', async () => {
    // An unknown word comes back in the error: it must arrive intact, not as U+FFFD.
    const bytes = Buffer.from(line({ op: 'run', words: ['€uro✓'], caller }));
    const at = bytes.indexOf(Buffer.from('€')) + 1; // inside the three bytes of €
    const { messages } = await exchange(node.home, [bytes.subarray(0, at), bytes.subarray(at)], { gapMs: 50 });
    const message = (messages.at(-1) as { message: string }).message;
    expect(message).toContain('€uro✓');
    expect(message).not.toContain('\ufffd');
  });

  it('takes a request and the start of the next line in one write', async () => {
    const { messages } = await exchange(node.home, [line({ op: 'run', words: ['system', 'info'], caller }) + '{"op":'], { waitMs: 3000 });
    expect(messages[0]).toMatchObject({ type: 'result' });
    await stillServing();
  });
});

describe('clients that do not play along', () => {
  it('serves while 200 clients never read their answers', async () => {
    const request = line({ op: 'run', words: ['help'], caller });
    const slow: Socket[] = [];
    for (let i = 0; i < 200; i++) slow.push(await openIdle(node.home, request));
    await stillServing();
    for (const s of slow) s.destroy();
    await stillServing();
  });

  it('drops clients that never read large answers instead of holding them all (1 GB before)', async () => {
    // 4,000 audit rows of 1 KB: each `log audit` answer is about 10 MB.
    const db = new Database(join(node.home, 'config.db'));
    db.pragma('busy_timeout = 5000');
    const insert = db.prepare("INSERT INTO audit (at, user, origin, address, words, outcome, exit_status, message) VALUES (?, 'filler', 'console', NULL, ?, 'ok', 0, NULL)");
    db.transaction(() => {
      for (let i = 0; i < 4000; i++) insert.run(new Date().toISOString(), `filler ${i} ${'w'.repeat(1000)}`);
    })();
    db.close();
    const request = line({ op: 'run', words: ['log', 'audit', '--limit', '4000'], caller });
    const slow: Socket[] = [];
    for (let i = 0; i < 25; i++) slow.push(await openIdle(node.home, request));
    await stillServing();
    expect(node.output()).toContain('dropped a client that does not read its answers');
    // Now read what each got: the daemon kept whole answers only within its bound on unsent bytes.
    const received = await Promise.all(slow.map(readToEnd));
    const whole = received.filter((text) => text.includes('"type":"result"') && text.endsWith('}\n'));
    const answerBytes = Math.max(...whole.map((text) => text.length));
    expect(answerBytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(whole.length).toBeGreaterThan(0);
    expect(whole.length).toBeLessThan(25);
    expect(whole.length * answerBytes).toBeLessThan(LIMITS.pendingBytes + answerBytes);
    await stillServing();
  }, 180_000);

  it('refuses connections past its limit with an error, and serves again once they go', async () => {
    const idle: Socket[] = [];
    for (let i = 0; i < LIMITS.connections; i++) idle.push(await openIdle(node.home));
    const over = await exchange(node.home, [], { waitMs: 10_000 });
    expect(over.messages.at(-1)).toMatchObject({ type: 'error', code: 'busy' });
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    await stillServing();
  });

  it('a client that disconnects in the middle of a question leaves nothing behind', async () => {
    const question = await exchange(node.home, [line({ op: 'run', words: ['system', 'maintenance-mode', 'start'], caller: { ...caller, interactive: true, assumeYes: false } })], { waitMs: 5000 });
    expect(question.messages[0]).toMatchObject({ type: 'confirm' });
    await stillServing();
  });
});

describe('after all of it', () => {
  it('is the same daemon, and its log names no uncaught exception', async () => {
    expect(node.process.exitCode).toBeNull();
    expect(node.output()).not.toMatch(/uncaught|SyntaxError/i);
    const log = readFileSync(`${node.home}/logs/platformd.log`, 'utf8');
    expect(log).not.toMatch(/uncaught exception/);
  });
});

/** Starts reading a paused connection and resolves with everything until the daemon's end. */
function readToEnd(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const giveUp = setTimeout(() => socket.destroy(), 30_000);
    const done = () => {
      clearTimeout(giveUp);
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('end', done);
    socket.once('close', done);
    socket.resume();
  });
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}
