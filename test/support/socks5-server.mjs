// A small SOCKS5 server for tests and benchmarks (RFC 1928 CONNECT, with no
// authentication or RFC 1929 user/password). It resolves names itself, as a
// socks5h proxy does, and prints one line per request on stdout:
//   listening <address>:<port>
//   CONNECT <host>:<port> <ok|refused|unreachable>
//   AUTH-FAILED <user>
// Usage: node socks5-server.mjs <address> <port> [user:password]

import { createServer, connect } from 'node:net';

const [address, portText, credentials] = process.argv.slice(2);
const [wantUser, wantPassword] = credentials ? [credentials.slice(0, credentials.indexOf(':')), credentials.slice(credentials.indexOf(':') + 1)] : [];
const log = (line) => process.stdout.write(`${line}\n`);

/** Reads exactly n bytes from a paused socket. */
function reader(socket) {
  let buffer = Buffer.alloc(0);
  let want;
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    check();
  });
  const check = () => {
    if (want && buffer.length >= want.n) {
      const w = want;
      want = undefined;
      const taken = buffer.subarray(0, w.n);
      buffer = buffer.subarray(w.n);
      w.resolve(taken);
    }
  };
  return {
    take: (n) => new Promise((resolve) => ((want = { n, resolve }), check())),
    rest: () => buffer,
  };
}

async function serve(client) {
  client.on('error', () => {});
  const r = reader(client);
  const [version, count] = await r.take(2);
  if (version !== 5) return client.destroy();
  const methods = [...(await r.take(count))];
  const method = wantUser !== undefined ? 2 : 0;
  if (!methods.includes(method)) {
    client.end(Buffer.from([5, 0xff]));
    return;
  }
  client.write(Buffer.from([5, method]));
  if (method === 2) {
    const [, userLength] = await r.take(2);
    const user = (await r.take(userLength)).toString();
    const [passwordLength] = await r.take(1);
    const password = (await r.take(passwordLength)).toString();
    const ok = user === wantUser && password === wantPassword;
    if (!ok) log(`AUTH-FAILED ${user}`);
    client.write(Buffer.from([1, ok ? 0 : 1]));
    if (!ok) return client.end();
  }
  const [, command, , atyp] = await r.take(4);
  let host;
  if (atyp === 1) host = [...(await r.take(4))].join('.');
  else if (atyp === 3) host = (await r.take((await r.take(1))[0])).toString();
  else if (atyp === 4) host = (await r.take(16)).toString('hex').match(/.{4}/g).join(':');
  const port = (await r.take(2)).readUInt16BE(0);
  if (command !== 1) return client.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
  const upstream = connect({ host, port });
  upstream.once('connect', () => {
    log(`CONNECT ${host}:${port} ok`);
    client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
    client.removeAllListeners('data');
    const early = r.rest();
    if (early.length) upstream.write(early);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.once('error', (error) => {
    const refused = error.code === 'ECONNREFUSED';
    log(`CONNECT ${host}:${port} ${refused ? 'refused' : 'unreachable'}`);
    client.end(Buffer.from([5, refused ? 5 : 4, 0, 1, 0, 0, 0, 0, 0, 0]));
  });
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}

const server = createServer((client) => serve(client).catch(() => client.destroy()));
server.listen(Number(portText), address, () => log(`listening ${address}:${portText}`));
process.on('SIGTERM', () => process.exit(0));
