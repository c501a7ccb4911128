// An http(s) download location is a server's answer: hostile input. A body
// larger than a release may weigh (declared or not), a head without end, a
// silence, a redirect loop, a redirect down to plain http or to another
// scheme, a certificate the node does not trust, a cut transfer: each ends
// in a bounded time with one clear message, and credentials never go to a
// host the URI did not name. Through a proxy the download is tunnelled
// (CONNECT), and with strict egress and no proxy a host that is no
// configured destination is refused before a packet leaves.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECT, type Egress } from '../../net/connector.js';
import { download, MAX_REDIRECTS, redirectTarget } from '../../net/download.js';
import { parseUri } from '../../net/uri.js';
import { tempHome } from '../support/daemon.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';

const dir = tempHome('ps-download-');
const servers: (Server | HttpServer)[] = [];
const sockets = new Set<Socket>();
let plain = ''; // http://127.0.0.1:port
let other = ''; // a second origin
let tls = ''; // https with a certificate nobody trusts
let endlessHead = ''; // a server whose head never ends
const otherAuthorization: (string | undefined)[] = [];
let proxy: ConnectProxy;
let n = 0;

const listen = async (server: Server | HttpServer): Promise<number> => {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

/** Every way a server can answer, by path. */
function answer(req: IncomingMessage, res: ServerResponse): void {
  const routes: Record<string, () => void> = {
    '/ok.psup': () => res.end('release bytes'),
    '/declared-too-large': () => {
      res.writeHead(200, { 'Content-Length': String(1024 * 1024) });
      res.write('x');
    },
    '/endless': () => {
      res.writeHead(200); // chunked, no length: it runs past the bound
      const more = () => res.write(Buffer.alloc(16 * 1024, 1), () => setImmediate(more));
      more();
    },
    '/silent': () => res.writeHead(200, { 'Content-Length': '10' }).flushHeaders(),
    '/cut': () => {
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('only ten b', () => res.socket?.destroy());
    },
    '/missing': () => res.writeHead(404, 'Not Found').end(),
    '/loop': () => res.writeHead(302, { Location: '/loop' }).end(),
    '/to-ftp': () => res.writeHead(301, { Location: 'ftp://127.0.0.1/x' }).end(),
    '/to-other': () => res.writeHead(307, { Location: `${other}/ok.psup` }).end(),
    '/to-self': () => res.writeHead(302, { Location: '/ok.psup' }).end(),
    '/secret': () => (req.headers.authorization === `Basic ${Buffer.from('ops:s3cret').toString('base64')}` ? res.end('for ops') : res.writeHead(401).end()),
  };
  (routes[req.url ?? ''] ?? (() => res.writeHead(404).end()))();
}

beforeAll(async () => {
  plain = `http://127.0.0.1:${await listen(createHttpServer(answer))}`;
  other = `http://127.0.0.1:${await listen(
    createHttpServer((req, res) => {
      otherAuthorization.push(req.headers.authorization);
      res.end('from the other origin');
    }),
  )}`;
  // A head that never ends: header lines until the client gives up.
  const endless = createNetServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\n');
    const more = () => socket.writable && socket.write(`X-Filler: ${'f'.repeat(1000)}\r\n`, () => setImmediate(more));
    more();
    socket.on('error', () => undefined);
  });
  const endlessPort = await listen(endless);
  endlessHead = `http://127.0.0.1:${endlessPort}/x`;

  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const secure = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => {
    res.end('secure');
  });
  tls = `https://127.0.0.1:${await listen(secure)}`;

  proxy = await startConnectProxy();
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await proxy?.close();
});

/** Downloads `url` into a new file; resolves to the file, or rejects with the download's error. */
async function fetchTo(url: string, options: { egress?: Egress; maxBytes?: number; idleMs?: number } = {}): Promise<string> {
  const into = join(dir, `download-${++n}`);
  await download(parseUri(url), into, { egress: options.egress ?? DIRECT, maxBytes: options.maxBytes ?? 64 * 1024, idleMs: options.idleMs, progress: () => undefined, signal: AbortSignal.timeout(20_000) });
  return into;
}

const refusal = async (url: string, options: Parameters<typeof fetchTo>[1] = {}) => {
  const started = Date.now();
  const error = await fetchTo(url, options).then(
    () => undefined,
    (e: Error) => e,
  );
  return { message: error?.message ?? 'no error', ms: Date.now() - started };
};

describe('an http(s) download location', () => {
  it('downloads a file, and follows a redirect on the same origin', async () => {
    expect(readFileSync(await fetchTo(`${plain}/ok.psup`), 'utf8')).toBe('release bytes');
    expect(readFileSync(await fetchTo(`${plain}/to-self`), 'utf8')).toBe('release bytes');
    expect(readFileSync(await fetchTo(`http://ops:s3cret@127.0.0.1:${new URL(plain).port}/secret`), 'utf8')).toBe('for ops');
  });

  it('refuses a declared length above the bound before reading the body, and writes no file', async () => {
    const before = n;
    const { message } = await refusal(`${plain}/declared-too-large`, { maxBytes: 1000 });
    expect(message).toMatch(/holds 1048576 bytes, more than the 1000 a release may weigh: refused/);
    expect(existsSync(join(dir, `download-${before + 1}`))).toBe(false);
  });

  it('cuts off a body without a length once it passes the bound', async () => {
    const { message } = await refusal(`${plain}/endless`, { maxBytes: 200_000 });
    expect(message).toMatch(/sent more than the 200000 bytes a release may weigh: cut off/);
    expect(statSync(join(dir, `download-${n}`)).size).toBeLessThanOrEqual(200_000);
  });

  it('ends a head that never ends, a silence and a cut transfer, each with its own message', async () => {
    expect((await refusal(endlessHead)).message).toMatch(/answered a head longer than 16384 bytes: refused/);
    const silent = await refusal(`${plain}/silent`, { idleMs: 1500 });
    expect(silent.message).toMatch(/\/silent sent nothing for 1.5 s$/);
    expect(silent.ms).toBeLessThan(10_000);
    expect((await refusal(`${plain}/cut`)).message).toMatch(/the transfer broke off after 10 (of 100 )?bytes/);
    expect((await refusal(`${plain}/missing`)).message).toMatch(/answered 404 Not Found: no such file there/);
    expect((await refusal(`${plain}/secret`)).message).toMatch(/answered 401.*wants credentials/);
  });

  it(`follows at most ${MAX_REDIRECTS} redirects, only to http(s), never from https down to http`, async () => {
    expect((await refusal(`${plain}/loop`)).message).toMatch(new RegExp(`redirected more than ${MAX_REDIRECTS} times: refused`));
    expect((await refusal(`${plain}/to-ftp`)).message).toMatch(/redirected to a ftp location: only http\(s\) is followed/);
    // Down from https to plain http: refused by the rule every hop passes (an https server of this test is trusted by no node).
    expect(() => redirectTarget(new URL('https://downloads.example.test/a.psup'), 'http://downloads.example.test/a.psup')).toThrow(/redirected from https to plain http \(http:\/\/downloads.example.test\/a.psup\): refused/);
    expect(redirectTarget(new URL('http://ops:pw@a.example.test/x'), 'https://a.example.test/y').username).toBe('');
    expect(redirectTarget(new URL('http://ops:pw@a.example.test/x'), '/y').password).toBe('pw');
    expect(() => redirectTarget(new URL('http://a.example.test/x'), 'http://a.example.test:0/y')).toThrow(/redirected to port 0 \(http:\/\/a.example.test:0\/y\): refused/);
  });

  it('never sends the URI’s user and password to another origin', async () => {
    const port = new URL(plain).port;
    expect(readFileSync(await fetchTo(`http://ops:s3cret@127.0.0.1:${port}/to-other`), 'utf8')).toBe('from the other origin');
    expect(otherAuthorization).toEqual([undefined]);
  });

  it('refuses an HTTPS server whose certificate this node does not trust, naming why', async () => {
    const { message } = await refusal(`${tls}/x`);
    expect(message).toMatch(/its certificate is not trusted by this node \(self[- ]signed certificate/);
  });

  it('goes through the proxy (CONNECT) when one is set, and is refused by strict egress without one', async () => {
    const egress: Egress = { proxy: parseUri(proxy.uri), bypass: [] };
    expect(readFileSync(await fetchTo(`${plain}/ok.psup`, { egress }), 'utf8')).toBe('release bytes');
    expect(proxy.connects).toEqual([`CONNECT ${new URL(plain).host} HTTP/1.1`]);

    const strict: Egress = { bypass: [], policy: { mode: 'strict', destinations: [] } };
    const { message, ms } = await refusal('http://192.0.2.10/ok.psup', { egress: strict });
    expect(message).toMatch(/egress/);
    expect(ms).toBeLessThan(1000);
  });
});
