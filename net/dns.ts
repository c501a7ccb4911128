// DNS queries over UDP and over TCP, written out here so that both
// transports are tested for real (IT departments often allow only one;
// large answers need TCP).

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { defaultPort } from '../catalog/derive.js';

export interface DnsAnswer {
  transport: 'udp' | 'tcp';
  server: string;
  ok: boolean;
  /** The server answered this query (any return code): the flow to it works, whatever the name. */
  answered: boolean;
  addresses: string[];
  detail: string;
  ms: number;
}

function query(name: string, id: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4); // one question
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]); // QTYPE A, QCLASS IN
}

const RCODES = ['no error', 'format error', 'server failure', 'no such name', 'not implemented', 'refused'];

/** The resolver served the query: an address, or its word that the name does not exist. */
export const resolverServes = (answer: DnsAnswer) => answer.answered && (answer.ok || answer.detail === RCODES[3]);

/** An answer that does not hold what it claims: an error, never a loop or a read past its end. */
export class DnsFormatError extends Error {}

export function parse(message: Buffer, id: number): { addresses: string[]; rcode: number } {
  const need = (offset: number, bytes: number, what: string) => {
    if (offset + bytes > message.length) throw new DnsFormatError(`the answer ends inside ${what} (${message.length} bytes)`);
  };
  need(0, 12, 'its header');
  if (message.readUInt16BE(0) !== id) throw new DnsFormatError('answer to another query');
  const rcode = message.readUInt16BE(2) & 0x000f;
  const questions = message.readUInt16BE(4);
  const answers = message.readUInt16BE(6);
  let offset = 12;
  // Skips a name at `offset`: every step moves forward within the message; a
  // compression pointer ends the name and is never followed, so it cannot loop.
  const skipName = () => {
    for (let labels = 0; ; labels++) {
      need(offset, 1, 'a name');
      const length = message[offset]!;
      if (length === 0) return void offset++;
      if ((length & 0xc0) === 0xc0) {
        need(offset, 2, 'a name pointer');
        return void (offset += 2);
      }
      if ((length & 0xc0) !== 0) throw new DnsFormatError(`a name holds the reserved label type 0x${length.toString(16)}`);
      if (labels > 127) throw new DnsFormatError('a name has more than 127 labels');
      need(offset, 1 + length, 'a label');
      offset += length + 1;
    }
  };
  for (let i = 0; i < questions; i++) {
    skipName();
    need(offset, 4, 'a question');
    offset += 4;
  }
  const addresses: string[] = [];
  for (let i = 0; i < answers; i++) {
    if (offset >= message.length) throw new DnsFormatError(`the answer claims ${answers} records but holds ${i}`);
    skipName();
    need(offset, 10, 'a record header');
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 8);
    need(offset + 10, length, 'a record');
    if (type === 1 && length === 4) addresses.push([...message.subarray(offset + 10, offset + 14)].join('.'));
    offset += 10 + length;
  }
  return { addresses, rcode };
}

function result(transport: 'udp' | 'tcp', server: string, start: number, reply: Buffer | Error, id: number): DnsAnswer {
  const ms = performance.now() - start;
  if (reply instanceof Error) return { transport, server, ok: false, answered: false, addresses: [], detail: reply.message, ms };
  try {
    const { addresses, rcode } = parse(reply, id);
    const ok = rcode === 0 && addresses.length > 0;
    return { transport, server, ok, answered: true, addresses, detail: ok ? addresses.join(', ') : RCODES[rcode] ?? `rcode ${rcode}`, ms };
  } catch (error) {
    return { transport, server, ok: false, answered: false, addresses: [], detail: `unreadable answer: ${(error as Error).message}`, ms };
  }
}

export function queryUdp(name: string, server: string, port = defaultPort('dns'), timeoutMs = 2000): Promise<DnsAnswer> {
  const id = randomInt(65536);
  const start = performance.now();
  return new Promise((resolve) => {
    const socket = createSocket(server.includes(':') ? 'udp6' : 'udp4');
    let finished = false;
    const finish = (reply: Buffer | Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      resolve(result('udp', server, start, reply, id));
    };
    const timer = setTimeout(() => finish(new Error('timed out')), timeoutMs);
    socket.on('message', (message) => finish(message));
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ECONNREFUSED' ? new Error('refused (ICMP port unreachable)') : error));
    // Connected: only the server's own datagrams reach the socket, and an ICMP port unreachable ends the query.
    // A failed connect (a prohibit route: EACCES) comes to this callback, not to 'error'.
    socket.connect(port, server, ((error?: Error) => (error ? finish(error) : socket.send(query(name, id), (sendError) => sendError && finish(sendError)))) as () => void);
  });
}

export function queryTcp(name: string, server: string, port = defaultPort('dns'), timeoutMs = 2000): Promise<DnsAnswer> {
  const id = randomInt(65536);
  const start = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: server, port });
    let buffer = Buffer.alloc(0);
    const finish = (reply: Buffer | Error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result('tcp', server, start, reply, id));
    };
    const timer = setTimeout(() => finish(new Error('timed out')), timeoutMs);
    socket.on('connect', () => {
      const q = query(name, id);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(q.length);
      socket.write(Buffer.concat([length, q]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]); // at most 2 + 65535 bytes: finished below once the length is in
      if (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) finish(buffer.subarray(2, 2 + buffer.readUInt16BE(0)));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(new Error(error.code === 'ECONNREFUSED' ? 'refused' : error.message)));
  });
}

/** The resolvers of the host when none are configured. */
export function systemResolvers(): string[] {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((s): s is string => Boolean(s));
  } catch {
    return [];
  }
}
