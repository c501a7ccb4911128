// `cluster maintenance-mode status` on the primary (the console's whole
// command: it asks every node at once through its agent) against the same N
// questions asked one after another: one node process in the primary's
// namespace sending N sequential HTTPS requests, with the primary's member
// certificate, to the same agents' `run` route (the route the command uses,
// for the same `system maintenance-mode status`), timed inside the process.
// 4, 8 and 16 nodes, each a platformd with its firewall applied in a namespace
// of its own on one bridge. Median of 5.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { clusterOnBridge, median, report } from './lib.mjs';

const RUNS = 5;

/** N sequential requests from inside `ns`; prints the milliseconds they took together. */
const SEQUENTIAL = `
const https = require('node:https'), fs = require('node:fs');
const [dir, ...addresses] = process.argv.slice(1);
const tls = { key: fs.readFileSync(dir + '/node.key'), cert: fs.readFileSync(dir + '/node.pem'), ca: fs.readFileSync(dir + '/ca.pem') };
const headers = { 'content-type': 'application/json', 'platform-agent-protocol': '1', 'platform-version': 'bench' };
const ask = (host) => new Promise((resolve, reject) => {
  const req = https.request({ host, port: 8443, path: '/run', method: 'POST', headers, ...tls, checkServerIdentity: () => undefined, agent: false }, (res) => {
    let body = ''; res.on('data', (d) => (body += d));
    res.on('end', () => (res.statusCode === 200 && JSON.parse(body).data.maintenanceMode === false ? resolve() : reject(new Error(host + ': ' + res.statusCode + ' ' + body))));
  });
  req.on('error', reject);
  req.end(JSON.stringify({ words: ['system', 'maintenance-mode', 'status'], user: 'platform', yes: true }));
});
(async () => {
  const start = process.hrtime.bigint();
  for (const address of addresses) await ask(address);
  console.log(Number(process.hrtime.bigint() - start) / 1e6);
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

async function measure(size) {
  const { nodes, teardown } = await clusterOnBridge({ prefix: `psmb${process.pid % 1000}x${size}`, net: '10.250.124', roles: Array.from({ length: size }, (_, i) => (i === 0 ? 'unified' : 'application')) });
  try {
    const [primary] = nodes;
    const command = [];
    const sequential = [];
    for (let i = 0; i < RUNS; i++) {
      const start = process.hrtime.bigint();
      const r = spawnSync(process.execPath, ['bin/platform.js', '--home', primary.home, '--json', 'cluster', 'maintenance-mode', 'status'], { encoding: 'utf8' });
      command.push(Number(process.hrtime.bigint() - start) / 1e6);
      const answers = JSON.parse(r.stdout);
      if (r.status !== 0 || answers.length !== size || answers.some((a) => a.maintenanceMode !== false)) throw new Error(`cluster maintenance-mode status: ${r.stderr}${r.stdout}`);
      const s = spawnSync('ip', ['netns', 'exec', primary.ns, process.execPath, '-e', SEQUENTIAL, join(primary.home, 'certs', 'cluster'), ...nodes.map((n) => n.address)], { encoding: 'utf8' });
      if (s.status !== 0) throw new Error(`sequential requests: ${s.stderr}`);
      sequential.push(Number(s.stdout.trim()));
    }
    return { command: median(command), sequential: median(sequential) };
  } finally {
    await teardown();
  }
}

const rows = [];
for (const size of [4, 8, 16]) {
  const r = await measure(size);
  rows.push({ name: `cluster maintenance-mode status, ${size} nodes (console included)`, ms: r.command, baselineName: `${size} sequential https requests to the agents`, baselineMs: r.sequential });
}
report(`cluster maintenance-mode status against the same questions asked one node after another (median of ${RUNS})`, rows);
