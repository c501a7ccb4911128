// `diag connectivity`'s engine (net/connectivity.ts probeFlows running the
// product's probes: net/probe.ts probeTcp through the connector, probeNtp
// with its checked NTP exchange) against the same probes done with plain
// Node sockets (a TCP connect, a 48-byte UDP request and any answer), both
// with the command's cap of 8 at once, for N destinations on the loopback:
// half NTP servers (one responder process), half TCP listeners.

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { loadModule, report, time } from './lib.mjs';

const NTP_SERVERS = join(import.meta.dirname, '..', 'test', 'support', 'ntp-servers.mjs');

const SIZES = [16, 64];
// SFTP is not probed here: ssh2 (loaded only for it) stays out of the bundles.
const { probeFlows, CONCURRENCY } = await loadModule('net/connectivity.ts', { external: ['ssh2'] });
const { probeNtp, probeTcp } = await loadModule('net/probe.ts', { external: ['ssh2'] });

/** NTP responders on `count` ports, in a process of their own; resolves with their ports. */
function startNtpResponders(count) {
  const child = spawn(process.execPath, [NTP_SERVERS, ...Array.from({ length: count }, () => '127.0.0.1:0')], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.on('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out));
    });
  });
}

const tcpServers = [];
process.on('exit', () => tcpServers.forEach((s) => s.close()));
async function startTcpListeners(count) {
  const ports = [];
  for (let i = 0; i < count; i++) {
    const server = createServer((s) => s.on('error', () => undefined).end());
    tcpServers.push(server);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push(server.address().port);
  }
  return ports;
}

/** The same destinations, as the product probes them. */
const productFlows = (ntpPorts, tcpPorts) => [
  ...ntpPorts.map((port) => ({ flow: 'NTP server', destination: `127.0.0.1:${port}`, protocol: 'udp', via: 'direct', probe: (signal) => probeNtp('127.0.0.1', port, { timeoutMs: 3000, signal }) })),
  ...tcpPorts.map((port) => ({ flow: 'backup', destination: `127.0.0.1:${port}`, protocol: 'tcp', via: 'direct', probe: (signal) => probeTcp('127.0.0.1', port, { timeoutMs: 3000, signal }) })),
];

/** The same probes with plain sockets: connect and close; send a client packet and take the first answer. */
const plainTcp = (port) =>
  new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve()));
    s.on('error', reject);
  });
const plainNtp = (port) =>
  new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const request = Buffer.alloc(48);
    request[0] = (4 << 3) | 3;
    s.on('message', () => (s.close(), resolve()));
    s.on('error', reject);
    s.send(request, port, '127.0.0.1');
  });

/** Runs `jobs` with at most `cap` at once, as the product's runner does. */
async function capped(jobs, cap) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(cap, jobs.length) }, worker));
}

const rows = [];
for (const size of SIZES) {
  const ntpPorts = await startNtpResponders(size / 2);
  const tcpPorts = await startTcpListeners(size / 2);
  const flows = productFlows(ntpPorts, tcpPorts);
  // Every destination really answers, or the comparison means nothing.
  const check = await probeFlows(flows);
  const bad = check.filter((r) => r.verdict !== 'ok');
  if (bad.length) throw new Error(`not every probe is ok: ${JSON.stringify(bad[0])}`);
  const product = await time(() => probeFlows(flows), 7);
  const plain = await time(() => capped([...ntpPorts.map((p) => () => plainNtp(p)), ...tcpPorts.map((p) => () => plainTcp(p))], CONCURRENCY), 7);
  rows.push({ name: `diag connectivity engine, ${size} destinations`, ms: product, baselineName: `plain sockets, ${size}`, baselineMs: plain, aim: 'the checks cost little next to the network' });
}
report(`diag connectivity: N destinations (half NTP, half TCP) on the loopback, ${CONCURRENCY} at once`, rows);
process.exit(0);
