// The firewall against plain nft, in the same run, inside a network
// namespace made for it: a full apply with 10 ... 10,000 cluster peers in
// sets versus the same policy as one rule per peer; one peer added as a set
// element; a full reconcile with strict egress (100 destinations) against the
// inbound-only one; and the time from `app stop` to the port being closed.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModule, report, tempDir } from './lib.mjs';

const NS = `psfwbench${process.pid % 10000}`;
const ip = (...args) => execFileSync('ip', args, { stdio: 'ignore' });
const nftIn = (script) => {
  const start = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], { input: script });
  if (r.status !== 0) throw new Error(String(r.stderr));
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { compile, replaceTableScript, DEFAULT_LIMITS } = await loadModule('firewall/compiler.ts');

const peersOf = (n) => Array.from({ length: n }, (_, i) => ({ address: `10.${100 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`, roles: ['application'] }));
const listening = new Set(['80/tcp', '443/tcp', '8443/tcp', '27017/tcp', '27030/tcp', '161/udp', '162/udp']);

/** The same policy written the naive way: one accept rule per peer for the cluster ports. */
function perPeerRules(peers) {
  const rules = peers.map((p) => `    ip saddr ${p.address} tcp dport { 8443, 27017, 27030 } accept`).join('\n');
  return `add table inet naive\ndelete table inet naive\ntable inet naive {\n  chain input {\n    type filter hook input priority filter; policy drop;\n    ct state established,related accept\n    iif "lo" accept\n    tcp dport { 22, 80, 443 } accept\n${rules}\n  }\n}\n`;
}

try {
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  ip('netns', 'add', NS);
  const rows = [];
  for (const n of [10, 100, 1000, 10000]) {
    const peers = peersOf(n);
    const ours = replaceTableScript(compile({ roles: ['unified', 'webproxy'], listening, peers, management: [], limits: DEFAULT_LIMITS }));
    const naive = perPeerRules(peers);
    const runs = n >= 10000 ? 1 : 5;
    const oursMs = median(Array.from({ length: runs }, () => nftIn(ours)));
    const naiveMs = median(Array.from({ length: runs }, () => nftIn(naive)));
    nftIn('delete table inet naive\n');
    rows.push({ name: `full apply, ${n} peers in sets`, ms: oursMs, baselineName: `nft, one rule per peer`, baselineMs: naiveMs, aim: n === 10000 ? '< 60 ms' : '' });
  }
  // One peer added to 10,000: a set element, not a reload.
  const add = median(Array.from({ length: 5 }, (_, i) => nftIn(`add element inet platform peers_cluster_v4 { 10.200.0.${i + 1} }\n`)));
  const full = median(Array.from({ length: 3 }, () => nftIn(replaceTableScript(compile({ roles: ['unified'], listening, peers: [...peersOf(10000), { address: '10.200.0.9', roles: ['application'] }], management: [], limits: DEFAULT_LIMITS })))));
  rows.push({ name: 'one peer added (set element), 10,000 peers', ms: add, baselineName: 'full reload with the peer', baselineMs: full });
  report('firewall apply (median)', rows);

  // Strict egress: a full reconcile (compile + load) with 100 configured
  // destinations in the output chain's sets, against today's inbound-only one.
  const destinations = Array.from({ length: 100 }, (_, i) => ({ host: `dest${i}.example.net`, port: 2000 + i, protocol: i % 10 === 0 ? 'udp' : 'tcp', why: `destination ${i}`, addresses: [`10.220.${Math.floor(i / 256)}.${i % 256}`, `fd00:220::${i.toString(16)}`] }));
  const situation = { roles: ['unified'], listening, peers: peersOf(10), management: [], limits: DEFAULT_LIMITS };
  const reconcile = (egress) => {
    const start = process.hrtime.bigint();
    const script = replaceTableScript(compile({ ...situation, egress }));
    return Number(process.hrtime.bigint() - start) / 1e6 + nftIn(script);
  };
  const strictMs = median(Array.from({ length: 9 }, () => reconcile({ mode: 'strict', destinations })));
  const openMs = median(Array.from({ length: 9 }, () => reconcile(undefined)));
  report('egress policy: full reconcile (median of 9)', [{ name: 'strict egress, 100 destinations (v4 + v6)', ms: strictMs, baselineName: 'inbound-only (egress open)', baselineMs: openMs, aim: '<= 1.5x' }]);
} finally {
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
}

// app stop -> port closed, through platformd with --firewall apply in a namespace.
const home = tempDir('ps-fwbench-home-');
mkdirSync(join(home, 'etc'), { recursive: true });
// A database stand-in: the bench measures the firewall following a service, not the service.
const listener = `require('node:net').createServer().listen(27020)`;
writeFileSync(join(home, 'etc', 'apps.json'), JSON.stringify([{ name: 'db', service: 'database', command: [process.execPath, '-e', listener] }]));
ip('netns', 'add', NS);
ip('-n', NS, 'link', 'set', 'lo', 'up');
const daemon = spawn('ip', ['netns', 'exec', NS, process.execPath, 'bin/platformd.js', '--home', home, '--firewall', 'apply'], { stdio: 'ignore' });
const platform = (...words) => spawnSync(process.execPath, ['bin/platform.js', '--home', home, '--yes', ...words], { encoding: 'utf8' });
const ruleOpen = () => /dport[^\n]*\b27020\b/.test(spawnSync('ip', ['netns', 'exec', NS, 'nft', 'list', 'chain', 'inet', 'platform', 'input'], { encoding: 'utf8' }).stdout);
async function until(condition, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the firewall did not follow the app in 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}
try {
  while (!existsSync(join(home, 'run', 'platformd.sock'))) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  platform('system', 'setup', '--hostname', 'bench', '--role', 'database');
  const samples = [];
  const applies = [];
  const direct = [];
  for (let i = 0; i < 5; i++) {
    platform('app', 'start', 'db');
    await until(ruleOpen);
    const start = process.hrtime.bigint();
    const stopped = platform('app', 'stop', 'db');
    applies.push(Number(/updated in (\d+) ms/.exec(stopped.stdout)?.[1] ?? NaN));
    await until(() => !ruleOpen());
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    // Baseline: one hand-written nft change of the same rule.
    direct.push(nftIn('add table inet hand\ndelete table inet hand\ntable inet hand {\n chain input {\n  type filter hook input priority filter; policy accept;\n  tcp dport 443 accept\n }\n}\n'));
  }
  report('service change (median of 5)', [
    { name: 'app stop -> its port closed (whole command)', ms: median(samples), baselineName: 'one `nft -f` by hand', baselineMs: median(direct) },
    { name: 'firewall part of it (compile + apply + verify)', ms: median(applies), baselineName: 'one `nft -f` by hand', baselineMs: median(direct), aim: '< 1/10 of ufw allow (165-226 ms here)' },
  ]);
  console.log('ufw: not run. ufw keeps its configuration in /etc/ufw, shared with the host even inside a namespace, so running it here would change the host.');
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  rmSync(home, { recursive: true, force: true });
}
