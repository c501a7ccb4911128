// External processes run asynchronously with a time limit (os/processes.ts),
// so one slow program never stalls the other callers; DNS answers are read
// within the bytes they hold (issue 15: `diag dns` looped forever on an
// answer that claimed one record and held none, and `system info` took 2.7 s
// while `diag ping` ran).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import fc from 'fast-check';
import { runChecked, runProcess } from '../../os/processes.js';
import { DnsFormatError, parse } from '../../net/dns.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

describe('runProcess', () => {
  it('kills a program that runs out of time, with its children, and says so', async () => {
    const started = performance.now();
    await expect(runProcess('sh', ['-c', 'sleep 30 & sleep 30'], { timeoutMs: 300 })).rejects.toThrow(/did not finish within 0.3 s and was stopped/);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('bounds the output it keeps, and passes stdin', async () => {
    const flood = await runProcess('head', ['-c', '5000000', '/dev/zero'], { maxOutputBytes: 1000 });
    expect(flood.stdout.length).toBe(1000);
    expect(flood.truncated).toBe(true);
    expect((await runProcess('cat', [], { input: 'through stdin' })).stdout).toBe('through stdin');
  });

  it('names a program that is not installed, and a failing one with its last words', async () => {
    await expect(runProcess('no-such-program-here', [])).rejects.toThrow(/no-such-program-here is not installed/);
    await expect(runChecked('sh', ['-c', 'echo broken >&2; exit 3'])).rejects.toThrow(/sh failed \(exit 3\): broken/);
  });
});

describe('the DNS answer parser', () => {
  const header = (id: number, answers: number) => {
    const b = Buffer.alloc(12);
    b.writeUInt16BE(id, 0);
    b.writeUInt16BE(0x8180, 2);
    b.writeUInt16BE(1, 4);
    b.writeUInt16BE(answers, 6);
    return b;
  };
  const question = Buffer.from([7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1]);

  it('refuses an answer that claims one record and holds none', () => {
    expect(() => parse(Buffer.concat([header(7, 1), question]), 7)).toThrow(DnsFormatError);
  });

  it('never loops, reads past the end or throws anything but DnsFormatError, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, withHeader) => {
        const message = withHeader ? Buffer.concat([header(9, bytes[0] ?? 1), Buffer.from(bytes)]) : Buffer.from(bytes);
        try {
          const { addresses } = parse(message, 9);
          expect(addresses.length).toBeLessThanOrEqual(message.length / 14);
        } catch (error) {
          expect(error).toBeInstanceOf(DnsFormatError);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('in a running daemon', () => {
  let node: RunningDaemon;
  let server: Socket;
  let dnsPort = 0;
  beforeAll(async () => {
    node = await startDaemon();
    // A resolver that answers every query with "one record" and no record.
    server = createSocket('udp4');
    server.on('message', (query, peer) => {
      const answer = Buffer.from(query);
      answer.writeUInt16BE(0x8180, 2);
      answer.writeUInt16BE(1, 6);
      server.send(answer, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    dnsPort = server.address().port;
  });
  afterAll(async () => {
    server.close();
    await node.stop();
  });

  it('ends "diag dns" against a malformed answer promptly, with an error', async () => {
    const started = performance.now();
    const result = await node.platform(['diag', 'dns', 'example.com', '127.0.0.1', String(dnsPort)]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/unreadable answer: the answer claims 1 records but holds 0/);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect((await node.platform(['system', 'info'])).status).toBe(0);
  });

  it('answers "system info" while "diag ping" runs (about 2 s of echoes)', async () => {
    const ping = node.platform(['diag', 'ping', '127.0.0.1']).then((result) => ({ result, at: performance.now() }));
    await new Promise((r) => setTimeout(r, 300)); // ping is under way
    const info = await node.platform(['system', 'info']);
    const infoAt = performance.now();
    const pinged = await ping;
    expect(info.status).toBe(0);
    expect(pinged.result.status, pinged.result.stderr).toBe(0);
    expect(pinged.result.stdout).toMatch(/3 packets transmitted/);
    // A daemon blocked by ping would answer "system info" only after ping's own answer.
    expect(infoAt).toBeLessThan(pinged.at);
  });
});
