// How `cluster provision` and `cluster check` grow with the cluster: 4 and
// 16 nodes, each a platformd with its firewall applied in a namespace of its
// own on one bridge. Baseline: one `cluster run all health` round trip.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { median, report, tempDir } from './lib.mjs';

const ROLES = ['unified', 'webproxy', 'application', 'database'];
const ip = (...args) => execFileSync('ip', args, { stdio: 'ignore' });

async function cluster(size) {
  const prefix = `psclb${process.pid % 1000}x${size}`;
  const hub = `${prefix}h`;
  const nodes = [];
  const teardown = async () => {
    for (const n of nodes) {
      n.daemon?.kill('SIGTERM');
      if (n.daemon) await new Promise((r) => n.daemon.once('exit', r));
      spawnSync('ip', ['netns', 'del', n.ns], { stdio: 'ignore' });
      rmSync(n.home, { recursive: true, force: true });
    }
    spawnSync('ip', ['netns', 'del', hub], { stdio: 'ignore' });
  };
  try {
    ip('netns', 'add', hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    for (let i = 0; i < size; i++) {
      const ns = `${prefix}n${i}`;
      const address = `10.250.30.${i + 1}`;
      ip('netns', 'add', ns);
      ip('-n', hub, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', hub, 'link', 'set', `v${i}`, 'master', 'br0');
      ip('-n', hub, 'link', 'set', `v${i}`, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      const home = tempDir('ps-clbench-');
      const daemon = spawn('ip', ['netns', 'exec', ns, process.execPath, 'bin/platformd.js', '--home', home, '--firewall', 'apply', '--web-port', '443', '--http-port', '80', '--cluster-port', '8443'], { stdio: 'ignore' });
      nodes.push({ ns, address, home, daemon, role: ROLES[i % ROLES.length] });
    }
    const platform = (node, ...words) => {
      const r = spawnSync(process.execPath, ['bin/platform.js', '--home', node.home, '--yes', ...words], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${words.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    for (const n of nodes) while (!existsSync(join(n.home, 'run', 'platformd.sock'))) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    nodes.forEach((n, i) => platform(n, 'system', 'setup', '--hostname', `n${i}`, '--role', n.role, '--ip', n.address));
    const primary = nodes[0];
    for (const n of nodes.slice(1)) {
      const { code } = JSON.parse(platform(n, '--json', 'cluster', 'prepnode'));
      platform(primary, 'cluster', 'add', n.address, code);
    }
    const timed = (words, runs = 3) => {
      const samples = [];
      for (let i = 0; i < runs; i++) {
        const start = process.hrtime.bigint();
        spawnSync(process.execPath, ['bin/platform.js', '--home', primary.home, '--yes', ...words], { stdio: 'ignore' });
        samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return median(samples);
    };
    const provision = timed(['cluster', 'provision']);
    const check = timed(['cluster', 'check']);
    const baseline = timed(['cluster', 'run', 'all', 'health']);
    return { provision, check, baseline };
  } finally {
    await teardown();
  }
}

const rows = [];
for (const size of [4, 16]) {
  const r = await cluster(size);
  rows.push({ name: `cluster provision, ${size} nodes`, ms: r.provision, baselineName: `cluster run all health (${size})`, baselineMs: r.baseline });
  rows.push({ name: `cluster check, ${size} nodes`, ms: r.check, baselineName: `cluster run all health (${size})`, baselineMs: r.baseline });
}
report('cluster (median of 3, each node a platformd in its own namespace)', rows);
