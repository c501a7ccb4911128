// How `cluster provision` and `cluster check` grow with the cluster: 4 and
// 16 nodes, each a platformd with its firewall applied in a namespace of its
// own on one bridge. Baseline: one `cluster run all health` round trip.

import { spawnSync } from 'node:child_process';
import { clusterOnBridge, median, report } from './lib.mjs';

const ROLES = ['unified', 'webproxy', 'application', 'database'];

async function cluster(size) {
  const { nodes, teardown } = await clusterOnBridge({ prefix: `psclb${process.pid % 1000}x${size}`, net: '10.250.30', roles: Array.from({ length: size }, (_, i) => ROLES[i % ROLES.length]) });
  try {
    const primary = nodes[0];
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
