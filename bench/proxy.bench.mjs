// The one way out (net/connector.ts) through each proxy kind, against curl
// through the same proxy to the same destination: 100 fresh connections in
// a row (the destination answers one HTTP request and closes), each a full
// proxy handshake with credentials. tinyproxy (HTTP CONNECT, Basic auth)
// and the test SOCKS5 server (user/password) run on the loopback.
//   connector via CONNECT   vs  curl --proxytunnel --proxy http://user:pw@...
//   connector via SOCKS5    vs  curl --socks5-hostname user:pw@...

import { spawn, spawnSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModule, median, report, tempDir } from './lib.mjs';

const CONNECTIONS = 100;
/** A port the kernel has just handed out and taken back: free for the servers started next. */
const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
const ports = { destination: await freePort(), http: await freePort(), socks: await freePort() };
const credentials = 'bench:b3nch-pw';
const dir = tempDir('ps-proxybench-');
const { connectOut } = await loadModule('net/connector.ts');
const { parseUri } = await loadModule('net/uri.ts');

// In a process of its own: curl runs synchronously (spawnSync) and must still be answered.
const DESTINATION = `require('node:net').createServer((s) => { s.on('error', () => {}); s.once('data', () => s.end('HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok')); }).listen(${ports.destination}, '127.0.0.1');`;

writeFileSync(join(dir, 'tinyproxy.conf'), [`Port ${ports.http}`, 'Listen 127.0.0.1', 'Timeout 30', 'Allow 127.0.0.1', `BasicAuth ${credentials.replace(':', ' ')}`, `ConnectPort ${ports.destination}`, 'LogLevel Critical', 'User root', 'Group root', 'MaxClients 50', ''].join('\n'));
const children = [
  spawn(process.execPath, ['-e', DESTINATION], { stdio: 'ignore' }),
  spawn('/usr/bin/tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: 'ignore' }),
  spawn(process.execPath, ['test/support/socks5-server.mjs', '127.0.0.1', String(ports.socks), credentials], { stdio: 'ignore' }),
];
const stopAll = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('exit', stopAll);

const listening = (port) =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
for (const port of [ports.destination, ports.http, ports.socks]) {
  const deadline = Date.now() + 15_000;
  while (!(await listening(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request through the connector: connect through the proxy, ask, read to the end. */
async function oneRequest(egress) {
  const socket = await connectOut('127.0.0.1', ports.destination, { egress });
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${ports.destination}\r\n\r\n`);
  let answer = '';
  socket.on('data', (d) => (answer += d));
  await new Promise((resolve, reject) => (socket.on('end', resolve), socket.on('error', reject)));
  if (!answer.endsWith('ok')) throw new Error(`unexpected answer: ${answer}`);
}

async function connectorRun(proxyUri) {
  const egress = { proxy: parseUri(proxyUri), bypass: [] };
  const start = process.hrtime.bigint();
  for (let i = 0; i < CONNECTIONS; i++) await oneRequest(egress);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function curlRun(proxyArgs) {
  const urls = Array.from({ length: CONNECTIONS }, () => `http://127.0.0.1:${ports.destination}/`);
  const start = process.hrtime.bigint();
  const result = spawnSync('curl', ['-s', '-f', '-o', '/dev/null', ...proxyArgs, ...urls]);
  if (result.status !== 0) throw new Error(`curl ${proxyArgs.join(' ')} exited ${result.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function compare(name, proxyUri, baselineName, curlArgs, runs = 5) {
  await connectorRun(proxyUri);
  curlRun(curlArgs);
  const ours = [];
  const theirs = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await connectorRun(proxyUri));
    theirs.push(curlRun(curlArgs));
  }
  return { name, ms: median(ours), baselineName, baselineMs: median(theirs), aim: '<= 1.2x' };
}

try {
  const rows = [
    await compare(`connector via HTTP CONNECT, ${CONNECTIONS} connections`, `http://${credentials}@127.0.0.1:${ports.http}`, 'curl --proxytunnel --proxy', ['--proxytunnel', '--proxy', `http://${credentials}@127.0.0.1:${ports.http}`]),
    await compare(`connector via SOCKS5, ${CONNECTIONS} connections`, `socks5://${credentials}@127.0.0.1:${ports.socks}`, 'curl --socks5-hostname', ['--socks5-hostname', `127.0.0.1:${ports.socks}`, '--proxy-user', credentials]),
  ];
  report('Outbound connections through a proxy (net/connector.ts) against curl through the same proxy', rows);
} finally {
  stopAll();
}
process.exit(0);
