// The proxy is input twice: what a person types (`network proxy <uri>`,
// `network proxy bypass add`) and what the proxy answers. Bad URIs are
// refused with exit 2 and nothing stored, their secrets never echoed;
// hostile answers (an endless header, a non-HTTP answer, a wrong SOCKS
// version, huge lengths, silence) end in a bounded time with one clear
// message that names the proxy and never its password.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connectOut, bypasses, egressOf, MAX_PROXY_HEAD_BYTES, parseBypassEntry, type Egress } from '../../net/connector.js';
import { Store } from '../../store/db.js';
import { parseUri } from '../../net/uri.js';
import { freePort, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;
const servers: Server[] = [];

beforeAll(async () => {
  node = await startDaemon({ home: tempHome() });
});
afterAll(async () => {
  servers.forEach((s) => s.close());
  await node?.stop();
});

describe('network proxy: what a person types', () => {
  const refused: [string, RegExp][] = [
    ['socks4://10.0.0.5:1080', /socks4.*is not one of/],
    ['https://10.0.0.5:3128', /https URIs cannot be used here; use http, socks5/],
    ['ftp://u@10.0.0.5', /ftp URIs cannot be used here/],
    ['http://10.0.0.5:0', /port: "0" is not a port number/],
    ['http://10.0.0.5:65536', /port: "65536" is not a port number/],
    ['http://10.0.0.5:31x8', /port/],
    ['socks5://10.0.0.5:1080/path', /a proxy URI has no path/],
    ['http://', /host: missing/],
    [`socks5://${'u'.repeat(256)}:pw@10.0.0.5`, /SOCKS5 user name is at most 255 bytes/],
    ['socks5://joe:@10.0.0.5', /SOCKS5 password is 1-255 bytes/],
  ];
  for (const [uri, message] of refused) {
    it(`refuses ${uri.slice(0, 40)} with exit 2 and stores nothing`, async () => {
      const result = await node.platform(['network', 'proxy', uri]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(message);
      const shown = await node.platform(['--json', 'network', 'proxy']);
      expect(JSON.parse(shown.stdout).proxy).toBeNull();
    });
  }

  it('keeps credentials holding "@" and ":" whole, and never shows the password', async () => {
    const result = await node.platform(['--json', 'network', 'proxy', 'socks5://joe:p@ss:w0rd@10.0.0.5']);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain('ss:w0rd');
    const answer = JSON.parse(result.stdout);
    expect(answer).toMatchObject({ proxy: 'socks5://joe:***@10.0.0.5', kind: 'socks5' });
    expect(answer.direct.join(' ')).toMatch(/NTP.*UDP/);
    // What is used is what was typed: the password after the first ":" up to the last "@".
    expect(parseUri('socks5://joe:p@ss:w0rd@10.0.0.5')).toMatchObject({ user: 'joe', password: 'p@ss:w0rd', host: '10.0.0.5' });
    const bad = await node.platform(['network', 'proxy', 'http://joe:s3cr%zzet@10.0.0.5:99999']);
    expect(bad.status).toBe(2);
    expect(bad.stderr + bad.stdout).not.toContain('s3cr');
    expect((await node.platform(['network', 'proxy', 'del'])).status).toBe(0);
  });

  it('takes bypass entries it understands and refuses the rest', async () => {
    for (const entry of ['backup.example.test', '.example.test', '10.20.0.0/16', 'fd00::/8', '192.0.2.7']) {
      expect((await node.platform(['network', 'proxy', 'bypass', 'add', entry])).status).toBe(0);
    }
    for (const entry of ['*.example.test', '10.0.0.0/33', 'host name', 'a..b', `${'x'.repeat(64)}.test`]) {
      const result = await node.platform(['network', 'proxy', 'bypass', 'add', entry]);
      expect(result.status).toBe(2);
    }
    const shown = JSON.parse((await node.platform(['--json', 'network', 'proxy', 'bypass'])).stdout);
    expect(shown.bypass).toEqual(['backup.example.test', '.example.test', '10.20.0.0/16', 'fd00::/8', '192.0.2.7']);
    expect((await node.platform(['network', 'proxy', 'bypass', 'del', '.example.test'])).status).toBe(0);
    expect((await node.platform(['network', 'proxy', 'bypass', 'del', '.example.test'])).status).toBe(2);
  });

  it('matches the bypass list by name, suffix, address and network, never by resolving', () => {
    const list = ['backup.example.test', '.corp.test', '10.20.0.0/16', 'fd00::/8', '192.0.2.7'].map(parseBypassEntry);
    expect(bypasses('BACKUP.example.test', list)).toBe(true);
    expect(bypasses('other.example.test', list)).toBe(false);
    expect(bypasses('corp.test', list)).toBe(true);
    expect(bypasses('a.b.corp.test', list)).toBe(true);
    expect(bypasses('evilcorp.test', list)).toBe(false);
    expect(bypasses('10.20.255.1', list)).toBe(true);
    expect(bypasses('10.21.0.1', list)).toBe(false);
    expect(bypasses('fd00::5', list)).toBe(true);
    expect(bypasses('192.0.2.7', list)).toBe(true);
  });
});

describe('a proxy the store holds (a restored or older store is input too)', () => {
  it('a proxy or bypass entry that does not parse never reaches the store, so no connection goes direct for it', () => {
    const store = Store.open(join(tempHome(), 'config.db'));
    try {
      // The store's own shapes (store/settings.ts) refuse them, written or read back; the connector never sees one.
      expect(() => store.settings.set('network.proxy', 'gopher://evil@10.0.0.5')).toThrow(/settings "network.proxy": not a http or https or socks5 URI/);
      store.settings.set('network.proxy', 'socks5://10.0.0.5');
      expect(() => store.settings.set('network.proxyBypass', ['ok.example.test', 'not a host\r\n'])).toThrow(/settings "network.proxyBypass"/);
      store.settings.set('network.proxyBypass', ['ok.example.test']);
      expect(egressOf(store)).toMatchObject({ proxy: { scheme: 'socks5', host: '10.0.0.5' }, bypass: ['ok.example.test'] });
    } finally {
      store.close();
    }
  });
});

/** A fake proxy on the loopback that does what `behave` says with each connection. */
function fakeProxy(behave: (socket: Socket, received: () => Buffer) => void): Promise<number> {
  const port = freePort();
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    let received: Buffer = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    behave(socket, () => received);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(port)));
}

async function failureOf(promise: Promise<unknown>): Promise<{ message: string; ms: number }> {
  const start = Date.now();
  try {
    const socket = (await promise) as Socket;
    socket.destroy();
  } catch (error) {
    return { message: (error as Error).message, ms: Date.now() - start };
  }
  throw new Error('expected a failure');
}

const via = (scheme: 'http' | 'socks5', port: number, credentials = 'joe:s3cret-pw'): Egress => ({ proxy: parseUri(`${scheme}://${credentials}@127.0.0.1:${port}`), bypass: [] });
const noSecret = (message: string) => expect(message).not.toContain('s3cret-pw');

describe('hostile HTTP proxies', () => {
  it('an endless reply header is cut at 8 KiB', async () => {
    const port = await fakeProxy((socket) => {
      socket.write('HTTP/1.1 200 Connection established\r\n');
      const flood = setInterval(() => (socket.writable ? socket.write(`X-Junk: ${'a'.repeat(1000)}\r\n`) : clearInterval(flood)), 1);
      socket.on('close', () => clearInterval(flood));
    });
    const { message, ms } = await failureOf(connectOut('backup.example.test', 22, { egress: via('http', port), timeoutMs: 5000 }));
    expect(message).toBe(`the proxy 127.0.0.1:${port} answered more than ${MAX_PROXY_HEAD_BYTES} bytes without completing its answer: refused`);
    expect(ms).toBeLessThan(4000);
  });

  it('an answer that is not HTTP is named, printable and short', async () => {
    const port = await fakeProxy((socket) => socket.write(`SSH-2.0-OpenSSH\x1b[31m${'x'.repeat(500)}\r\n\r\n`));
    const { message } = await failureOf(connectOut('backup.example.test', 22, { egress: via('http', port) }));
    expect(message).toMatch(new RegExp(`^the proxy 127\\.0\\.0\\.1:${port} did not answer as an HTTP proxy \\("SSH-2\\.0-OpenSSH\\?\\[31mx+"\\)$`));
    expect(message.length).toBeLessThan(160);
  });

  it('407 names the proxy and the status, sends Basic credentials, and never shows the password', async () => {
    let request = '';
    const port = await fakeProxy((socket, received) => {
      socket.once('data', () => {
        request = received().toString('latin1');
        socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\n\r\n');
      });
    });
    const { message } = await failureOf(connectOut('backup.example.test', 22, { egress: via('http', port) }));
    expect(message).toBe(`the proxy 127.0.0.1:${port} refused the connection to backup.example.test:22: 407 Proxy Authentication Required; check the user and password of "network proxy"`);
    expect(request).toContain('CONNECT backup.example.test:22 HTTP/1.1\r\n');
    expect(request).toContain(`Proxy-Authorization: Basic ${Buffer.from('joe:s3cret-pw').toString('base64')}\r\n`);
    noSecret(message);
  });

  it('a silent proxy times out, naming it', async () => {
    const port = await fakeProxy(() => undefined);
    const { message, ms } = await failureOf(connectOut('backup.example.test', 22, { egress: via('http', port), timeoutMs: 800 }));
    expect(message).toBe(`the proxy 127.0.0.1:${port} did not open the connection to backup.example.test:22 within 0.8 s`);
    expect(ms).toBeLessThan(3000);
  });

  it('keeps what the destination sent right behind the reply', async () => {
    const port = await fakeProxy((socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\n\r\nSSH-2.0-Banner\r\n')));
    const socket = await connectOut('backup.example.test', 22, { egress: via('http', port) });
    const first = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
    socket.destroy();
    expect(first).toBe('SSH-2.0-Banner\r\n');
  });
});

describe('hostile SOCKS5 proxies', () => {
  it('a wrong version is refused, naming the proxy', async () => {
    const port = await fakeProxy((socket) => socket.once('data', () => socket.write(Buffer.from([4, 0]))));
    const { message } = await failureOf(connectOut('backup.example.test', 22, { egress: via('socks5', port) }));
    expect(message).toBe(`the proxy 127.0.0.1:${port} does not speak SOCKS5 (it answered version 4); is it an HTTP proxy? use http://`);
  });

  it('an HTTP proxy given as socks5:// is told apart', async () => {
    const port = await fakeProxy((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const { message } = await failureOf(connectOut('backup.example.test', 22, { egress: via('socks5', port) }));
    expect(message).toMatch(/does not speak SOCKS5 \(it answered version 72\)/);
  });

  it('a refused login and a refusing destination are named; the password is not', async () => {
    const login = await fakeProxy((socket) => {
      socket.once('data', () => {
        socket.write(Buffer.from([5, 2]));
        socket.once('data', () => socket.end(Buffer.from([1, 1])));
      });
    });
    const refusedLogin = await failureOf(connectOut('backup.example.test', 22, { egress: via('socks5', login) }));
    expect(refusedLogin.message).toBe(`the proxy 127.0.0.1:${login} refused the connection: it did not accept the user name and password of "network proxy"`);
    noSecret(refusedLogin.message);
    const noMethod = await fakeProxy((socket) => socket.once('data', () => socket.end(Buffer.from([5, 0xff]))));
    expect((await failureOf(connectOut('h.test', 22, { egress: via('socks5', noMethod) }))).message).toMatch(/accepts none of the offered authentication methods/);
  });

  it('a huge bound-address length, then silence, ends at the deadline; an endless stream is cut', async () => {
    const greet = (socket: Socket, then: () => void) =>
      socket.once('data', () => {
        socket.write(Buffer.from([5, 0]));
        socket.once('data', then);
      });
    const silent = await fakeProxy((socket) => greet(socket, () => socket.write(Buffer.from([5, 0, 0, 3, 255, 1, 2, 3]))));
    const stalled = await failureOf(connectOut('h.test', 22, { egress: { proxy: parseUri(`socks5://127.0.0.1:${silent}`), bypass: [] }, timeoutMs: 800 }));
    expect(stalled.message).toBe(`the proxy 127.0.0.1:${silent} did not open the connection to h.test:22 within 0.8 s`);
    const flood = await fakeProxy((socket) => greet(socket, () => socket.write(Buffer.concat([Buffer.from([5, 0, 0, 9]), Buffer.alloc(100_000)]))));
    const unknown = await failureOf(connectOut('h.test', 22, { egress: { proxy: parseUri(`socks5://127.0.0.1:${flood}`), bypass: [] } }));
    expect(unknown.message).toBe(`the proxy 127.0.0.1:${flood} answered an unknown address type 9: refused`);
  });

  it('sends names for the proxy to resolve (ATYP 3)', async () => {
    let request: Buffer = Buffer.alloc(0);
    const port = await fakeProxy((socket) =>
      socket.once('data', () => {
        socket.write(Buffer.from([5, 0]));
        socket.once('data', (d: Buffer) => {
          request = d;
          socket.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
        });
      }),
    );
    const socket = await connectOut('backup.example.test', 2222, { egress: { proxy: parseUri(`socks5://127.0.0.1:${port}`), bypass: [] } });
    socket.destroy();
    expect([...request.subarray(0, 5)]).toEqual([5, 1, 0, 3, 'backup.example.test'.length]);
    expect(request.subarray(5, -2).toString()).toBe('backup.example.test');
    expect(request.readUInt16BE(request.length - 2)).toBe(2222);
  });
});
