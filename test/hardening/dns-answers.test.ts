// `diag connectivity` and `diag dns` ask resolvers over UDP: the answers are
// input. The socket is connected, so a datagram from anyone but the server
// asked never counts; a closed port is told apart from a silent one (ICMP
// port unreachable); and a resolver that answers "refused" reached, but does
// not serve the node, while "no such name" is a resolver doing its work.

import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { queryUdp, resolverServes } from '../../net/dns.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** The answer to `query` with return code `rcode` and no records. */
function answer(query: Buffer, rcode: number): Buffer {
  const reply = Buffer.from(query);
  reply[2] = 0x81; // QR, RD
  reply[3] = 0x80 | rcode; // RA, rcode
  return reply;
}

describe('DNS answers over UDP', () => {
  it('take nothing from another port than the server asked, however well made', async () => {
    const [server, impostor] = [await bound(), await bound()];
    server.on('message', (query, from) => impostor.send(answer(query, 3), from.port, from.address));
    const result = await queryUdp('node.example.test', '127.0.0.1', server.address().port, 500);
    expect(result).toMatchObject({ answered: false, detail: 'timed out' });
  });

  it('tell a closed port (ICMP port unreachable) from a silent one', async () => {
    const closed = await bound();
    const port = closed.address().port;
    sockets.splice(sockets.indexOf(closed), 1);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await queryUdp('node.example.test', '127.0.0.1', port, 2000);
    expect(result).toMatchObject({ answered: false, detail: 'refused (ICMP port unreachable)' });
  });

  it('count "no such name" as served and "refused" as not', async () => {
    for (const [rcode, served] of [
      [3, true],
      [5, false],
      [2, false],
    ] as const) {
      const server = await bound();
      server.on('message', (query, from) => server.send(answer(query, rcode), from.port, from.address));
      const result = await queryUdp('node.example.test', '127.0.0.1', server.address().port, 2000);
      expect(result.answered).toBe(true);
      expect(resolverServes(result)).toBe(served);
    }
  });
});
