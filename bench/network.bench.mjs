// Applying a static networking change against writing the same
// systemd-networkd files with plain node fs, in the same run:
//   - in process: the generator (checks + files) and the atomic writes
//     (os/files.ts: aside, fsync, rename) against fs.writeFileSync of the
//     same bytes, for 1 and 32 interfaces;
//   - end to end: `platform network interface ... static ...` through a real
//     appliance daemon (in a network namespace of its own, files under a
//     temporary root, so no networkctl) against a `node` process that writes
//     the same file; and the plan (`network plan`) likewise.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModule, report, tempDir, time } from './lib.mjs';

const NS = `psnetbench${process.pid % 10000}`;
const { networkdFiles } = await loadModule('net/static-network.ts');
const { writeFileInside } = await loadModule('os/files.ts');

const configOf = (n) => ({
  interfaces: Array.from({ length: n }, (_, i) => ({ name: `lan${i}`, dhcp: false, addresses: [{ cidr: `10.${60 + i}.0.7/24`, gateway: `10.${60 + i}.0.1` }, { cidr: `2001:db8:${i}::7/64` }] })),
  routes: [{ destination: '198.51.100.0/24', gateway: '10.60.0.254' }],
});

const rows = [];
for (const n of [1, 32]) {
  const config = configOf(n);
  const ours = tempDir('ps-net-bench-ours-');
  const plain = tempDir('ps-net-bench-plain-');
  const files = networkdFiles(config);
  const ms = await time(() => {
    for (const file of networkdFiles(config)) writeFileInside(ours, file.name, file.content, 0o644);
  }, 51);
  const baseline = await time(() => {
    for (const file of files) writeFileSync(join(plain, file.name), file.content);
  }, 51);
  const generate = await time(() => networkdFiles(config), 51);
  rows.push({ name: `generate only (checks + files), ${n} interface(s)`, ms: generate, baselineName: 'fs.writeFileSync, same files', baselineMs: baseline });
  rows.push({ name: `generate + atomic write, ${n} interface(s)`, ms, baselineName: 'fs.writeFileSync, same files', baselineMs: baseline, aim: 'the fsync of each file dominates' });
}

let daemon;
try {
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan0p']);
  const home = tempDir('ps-net-bench-home-');
  const root = tempDir('ps-net-bench-root-');
  const env = { ...process.env, PLATFORM_OS_ROOT: root };
  delete env.SSH_CONNECTION;
  daemon = spawn('ip', ['netns', 'exec', NS, process.execPath, 'bin/platformd.js', '--home', home, '--appliance', '--web-port', '19543', '--http-port', '19544', '--cluster-port', '19545'], { stdio: 'ignore', env, detached: true });
  while (!existsSync(join(home, 'run', 'platformd.sock'))) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  const platform = (...words) => {
    const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, 'bin/platform.js', '--home', home, ...words], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  // Each change is confirmed before the next (one at a time); only the change itself is timed.
  let turn = 0;
  const samples = [];
  for (let i = 0; i < 12; i++) {
    const start = process.hrtime.bigint();
    platform('network', 'interface', 'lan0', 'static', `10.59.0.${10 + (turn++ % 2)}/24`, 'gateway', '10.59.0.1');
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    platform('network', 'confirm');
  }
  const change = samples.slice(1).sort((a, b) => a - b)[Math.floor((samples.length - 1) / 2)];
  const [file] = networkdFiles(configOf(1));
  const target = tempDir('ps-net-bench-node-');
  mkdirSync(target, { recursive: true });
  const script = `require('fs').writeFileSync(${JSON.stringify(join(target, file.name))}, ${JSON.stringify(file.content)})`;
  const nodeWrite = await time(() => {
    const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '-e', script]);
    if (r.status !== 0) throw new Error(String(r.stderr));
  }, 11);
  const plan = await time(() => platform('network', 'plan'), 11);
  rows.push({ name: 'network interface ... static (console → daemon → files)', ms: change, baselineName: 'node -e writeFileSync, same file', baselineMs: nodeWrite, aim: 'a console start and one request more' });
  rows.push({ name: 'network plan (console → daemon)', ms: plan, baselineName: 'node -e writeFileSync, same file', baselineMs: nodeWrite });
} finally {
  if (daemon && daemon.exitCode === null) process.kill(-daemon.pid, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
}

report('static networking: applying a change against plain node fs', rows);
