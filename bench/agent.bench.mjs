// The cluster agent under slow TLS connections, against itself idle in the
// same run: a primary's `cluster run <member> system info` (median of 9)
// while an outsider on the same network holds 4,000 slow TLS connections to
// the member's agent (from 64 addresses; each connection sends the first
// bytes of a TLS record and stalls, and is opened again a second after the
// agent drops it), and the member's platformd RSS idle against after the
// attack (10 s and 30 s after it). The firewall runs in plan mode, so that the outsider reaches the
// agent (as during a join window, or from a peer's network).
// Aims: at most 2x the idle `cluster run`; RSS back within 20 MB.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { clusterOnBridge, median, report } from './lib.mjs';

const NET = '10.250.31';
const CONNECTIONS = 4000;
const SOURCES = 64;

const { nodes, attach, teardown } = await clusterOnBridge({ prefix: `psag${process.pid % 1000}`, net: NET, roles: ['unified', 'application'], firewall: 'plan' });

/** platformd's own pid in a node (the daemon was started through `ip netns exec`, which it replaced). */
const rssMb = (node) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${node.daemon.pid}/status`, 'utf8'))[1]) / 1024;

function clusterRun(primary, member, runs = 9) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['bin/platform.js', '--home', primary.home, '--yes', 'cluster', 'run', member.address, 'system', 'info'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cluster run: ${r.stderr}`);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

/** The outsider: `count` connections from `sources` addresses, each reopened a second after it closes; prints what it attempted when stopped. */
const ATTACKER = `
const net = require('node:net');
const [host, count, ...sources] = process.argv.slice(1);
let stopping = false, attempts = 0;
const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]); // a TLS record header announcing 512 bytes that never come
const one = (i) => {
  if (stopping) return;
  attempts++;
  const s = net.connect({ host, port: 8443, localAddress: sources[i % sources.length] });
  s.on('connect', () => s.write(hello));
  s.on('data', () => undefined);
  s.on('error', () => undefined);
  s.on('close', () => setTimeout(() => one(i), 1000));
};
for (let i = 0; i < Number(count); i++) one(i);
process.on('SIGTERM', () => { stopping = true; process.stdout.write(String(attempts)); process.exit(0); });
`;

try {
  const [primary, member] = nodes;
  const sources = Array.from({ length: SOURCES }, (_, i) => `${NET}.${100 + i}`);
  const outsider = attach('x', sources);
  await new Promise((r) => setTimeout(r, 2000));
  const idle = clusterRun(primary, member);
  const rssIdle = rssMb(member);

  const attacker = spawn('ip', ['netns', 'exec', outsider, process.execPath, '-e', ATTACKER, member.address, String(CONNECTIONS), ...sources], { stdio: ['ignore', 'pipe', 'inherit'] });
  let attempts = '';
  attacker.stdout.on('data', (d) => (attempts += d));
  await new Promise((r) => setTimeout(r, 3000));
  const attacked = clusterRun(primary, member);
  const rssDuring = rssMb(member);
  await new Promise((r) => {
    attacker.once('exit', r);
    attacker.kill('SIGTERM');
  });
  // The agent closes what it held within its handshake time; then the daemon has a few seconds to itself.
  await new Promise((r) => setTimeout(r, 10_000));
  const rssAfter = rssMb(member);
  // And after 20 s more of idling: whether what stays is kept for good.
  await new Promise((r) => setTimeout(r, 20_000));
  const rssLater = rssMb(member);

  report(`cluster run <member> system info, median of 9 (the member's agent under ${CONNECTIONS} slow TLS connections from ${SOURCES} addresses: ${attempts || '?'} attempts)`, [
    { name: 'cluster run, under the attack', ms: attacked, baselineName: 'cluster run, idle', baselineMs: idle, aim: '<= 2x' },
  ]);
  const delta = (mb) => `${mb >= rssIdle ? '+' : ''}${(mb - rssIdle).toFixed(1)} MB`;
  console.log(`member platformd RSS: idle ${rssIdle.toFixed(1)} MB; during the attack ${rssDuring.toFixed(1)} MB; 10 s after it ${rssAfter.toFixed(1)} MB (${delta(rssAfter)}); 30 s after it ${rssLater.toFixed(1)} MB (${delta(rssLater)}; aim: within 20 MB)`);
} finally {
  await teardown();
}
