// `diag connectivity` asks NTP servers for the time: their answers are
// input. Only a server-mode answer of full size whose origin field echoes
// this very request counts; anything else (short, wrong mode, someone
// else's answer, a flood) is ignored, a "kiss of death" is reported in
// printable words, and the probe always ends within its bound. The socket
// is connected: a perfect answer from another port never reaches it.

import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { probeNtp } from '../../net/probe.js';

const servers: Socket[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A UDP server on 127.0.0.1 that answers each request with what `answer` makes of it (several datagrams allowed). */
async function server(answer: (request: Buffer) => Buffer[]): Promise<number> {
  const socket = createSocket('udp4');
  servers.push(socket);
  socket.on('message', (request, from) => {
    for (const datagram of answer(request)) socket.send(datagram, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket.address().port;
}

/** A well-formed answer to `request` (server mode, stratum, its origin echoing the request's transmit time). */
function reply(request: Buffer, stratum = 2): Buffer {
  const answer = Buffer.alloc(48);
  answer[0] = (4 << 3) | 4;
  answer[1] = stratum;
  request.copy(answer, 24, 40, 48);
  answer.writeUInt32BE(Math.floor(Date.now() / 1000) + 2_208_988_800, 40);
  return answer;
}

describe('NTP answers', () => {
  it('ignore short, client-mode and foreign answers, and still take the true one that follows', async () => {
    const port = await server((request) => {
      const foreign = reply(request);
      foreign.writeUInt32BE(0xdeadbeef, 28); // not this request's origin
      const clientMode = reply(request);
      clientMode[0] = (4 << 3) | 3;
      return [Buffer.alloc(10), clientMode, foreign, Buffer.alloc(4000, 0xff), reply(request)];
    });
    const result = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
    expect(result).toMatchObject({ outcome: 'ok' });
    expect(result.detail).toMatch(/^NTP answer from 127\.0\.0\.1: stratum 2, clock offset -?\d+\.\d{3} s$/);
  });

  it('end in time when only garbage comes back', async () => {
    const port = await server(() => Array.from({ length: 50 }, () => Buffer.alloc(48, 0x24)));
    // Unbounded, this would hang until the test's own timeout.
    const result = await probeNtp('127.0.0.1', port, { timeoutMs: 500 });
    expect(result.outcome).toBe('timed out');
  });

  it('report a kiss of death with its code in printable characters only', async () => {
    const port = await server((request) => {
      const kiss = reply(request, 0);
      kiss.write('\x1b[2J', 12, 'latin1');
      return [kiss];
    });
    const result = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
    expect(result.outcome).toBe('failed');
    expect(result.detail).toContain('"kiss of death" (?[2J)');
    expect(result.detail).not.toMatch(/[\x00-\x1f]/);
  });

  it('ignore answers of the wrong size, version or transmit time, even with the right origin', async () => {
    const port = await server((request) => {
      const huge = Buffer.concat([reply(request), Buffer.alloc(2000)]);
      const version0 = reply(request);
      version0[0] = (0 << 3) | 4;
      const version7 = reply(request);
      version7[0] = (7 << 3) | 4;
      const noTransmit = reply(request);
      noTransmit.writeUInt32BE(0, 40);
      noTransmit.writeUInt32BE(0, 44);
      return [huge, version0, version7, noTransmit, reply(request).subarray(0, 47)];
    });
    const result = await probeNtp('127.0.0.1', port, { timeoutMs: 700 });
    expect(result.outcome).toBe('timed out');
  });

  it('take no answer from another port than the one asked, however well made', async () => {
    const [real, impostor] = [createSocket('udp4'), createSocket('udp4')];
    servers.push(real, impostor);
    await Promise.all([real, impostor].map((s) => new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))));
    // The server asked stays silent; its neighbour answers for it, perfectly.
    real.on('message', (request, from) => impostor.send(reply(request), from.port, from.address));
    const result = await probeNtp('127.0.0.1', real.address().port, { timeoutMs: 700 });
    expect(result.outcome).toBe('timed out');
  });

  it('report a server whose own clock is not synchronised as a failure, not a time', async () => {
    for (const spoil of [(a: Buffer) => (a[0] = (3 << 6) | (4 << 3) | 4), (a: Buffer) => (a[1] = 16)]) {
      const port = await server((request) => {
        const answer = reply(request);
        spoil(answer);
        return [answer];
      });
      const result = await probeNtp('127.0.0.1', port, { timeoutMs: 2000 });
      expect(result.outcome).toBe('failed');
      expect(result.detail).toMatch(/its own clock is not synchronised \(stratum (2|16)\)/);
    }
  });

  it('stop at once when told to', async () => {
    const port = await server(() => []);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const result = await probeNtp('127.0.0.1', port, { timeoutMs: 60_000, signal: stop.signal });
    // Unstopped, this would wait a minute, past the test's own timeout.
    expect(result.outcome).toBe('timed out');
  });
});
