// Answers from SMTP relays and SNMP receivers are untrusted: a relay that
// never greets, one that answers with control characters and endless lines,
// a receiver that answers informs with garbage or not at all. Each is a
// failed attempt with a bounded, one-line, secret-free message, never a
// crash or a hang; events themselves are checked before they are kept.

import { afterAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { checkEvent } from '../../events/catalog.js';
import { Mailer } from '../../notify/mail.js';
import { scrub } from '../../notify/outbox.js';
import { sendInform } from '../../notify/trap.js';
import { parseUri } from '../../net/uri.js';
import { freePort } from '../support/daemon.js';

const notification = { node: 'as01', level: 'error' as const, event: 'notify-test', text: 'x', at: new Date().toISOString() };
const short = { connectionTimeout: 1000, greetingTimeout: 1000, socketTimeout: 1500 };
const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

function smtpPeer(onConnection: (socket: import('node:net').Socket) => void): Promise<number> {
  const port = freePort();
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(port)));
}

async function failureOf(promise: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const start = Date.now();
  try {
    await promise;
  } catch (error) {
    return { error: error as Error, ms: Date.now() - start };
  }
  throw new Error('expected a failure');
}

describe('hostile SMTP relays', () => {
  it('a relay that never greets is a failed attempt within the timeout', async () => {
    const port = await smtpPeer(() => undefined);
    const mailer = new Mailer(() => 'as01', short);
    const { ms } = await failureOf(mailer.send({ host: '127.0.0.1', port }, 'ops@example.test', notification));
    expect(ms).toBeLessThan(5000);
    mailer.close();
  });

  it('a relay answering with control characters and an endless line gives a bounded one-line error', async () => {
    const port = await smtpPeer((socket) => {
      socket.write('554 go away \x1b[31m\r\n');
      socket.write('5'.repeat(200_000));
    });
    const mailer = new Mailer(() => 'as01', short);
    const { error } = await failureOf(mailer.send({ host: '127.0.0.1', port }, 'ops@example.test', notification));
    const line = scrub(error.message);
    expect(line.length).toBeLessThanOrEqual(300);
    expect(line).not.toMatch(/[\x00-\x1f]/);
    mailer.close();
  });

  it('a relay that refuses the recipient is a failure, not a delivery', async () => {
    const port = await smtpPeer((socket) => {
      socket.write('220 relay ESMTP\r\n');
      socket.on('data', (d) => {
        const text = d.toString();
        if (/^(EHLO|HELO)/i.test(text)) socket.write('250 relay\r\n');
        else if (/^MAIL/i.test(text)) socket.write('250 ok\r\n');
        else if (/^RCPT/i.test(text)) socket.write('550 no such user\r\n');
        else socket.write('250 ok\r\n');
      });
    });
    const mailer = new Mailer(() => 'as01', short);
    const { error } = await failureOf(mailer.send({ host: '127.0.0.1', port }, 'ops@example.test', notification));
    expect(error.message).toMatch(/550|recipient/i);
    mailer.close();
  });
});

describe('hostile SNMP receivers', () => {
  it('garbage answers to an inform and silence are failures, bounded in time; the community stays out of the message', async () => {
    const socket = createSocket('udp4');
    const port = freePort();
    await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
    socket.on('message', (_msg, rinfo) => {
      socket.send(Buffer.alloc(1400, 0x30), rinfo.port, rinfo.address);
      socket.send(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), rinfo.port, rinfo.address);
    });
    try {
      const uri = parseUri(`snmp://s3cret-community@127.0.0.1:${port}`);
      const { error, ms } = await failureOf(sendInform(uri, notification));
      expect(ms).toBeLessThan(10_000);
      expect(scrub(error.message, uri)).not.toContain('s3cret-community');
    } finally {
      socket.close();
    }
  });
});

describe('events', () => {
  it('are one printable line of bounded length, with a plain name and a known level', () => {
    const event = checkEvent({ name: 'disk-low', level: 'warn', text: 'line one\nSubject: injected\r\n\x1b[2J' + 'y'.repeat(5000) });
    expect(event.text).not.toMatch(/[\x00-\x1f]/);
    expect(event.text.length).toBeLessThanOrEqual(1000);
    for (const name of ['Disk', 'disk low', 'disk\nlow', '', 'x'.repeat(65)]) expect(() => checkEvent({ name, level: 'warn', text: 'x' }), name).toThrow();
    expect(() => checkEvent({ name: 'disk-low', level: 'fatal' as never, text: 'x' })).toThrow();
  });

  it('secrets of a target are scrubbed from any message', () => {
    const uri = parseUri('snmp://bob:SHA:Secret-auth1:AES:Secret-priv1@127.0.0.1');
    expect(scrub('auth failed for Secret-auth1 and Secret-priv1', uri)).toBe('auth failed for *** and ***');
  });
});
