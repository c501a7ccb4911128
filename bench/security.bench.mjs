// `security check` against plain apt with the same options: the repository of
// the security tests (test/security/repository.ts: two small packages, signed
// InRelease, served as file://), an OS root of the benchmark's own. The
// product's check is the one-shot console, the daemon, its apt files written,
// `apt-get update` and `apt-get -s upgrade`, the answer parsed and kept; the
// baselines run those two apt-get commands by hand with the same apt.conf,
// and `apt-get -s upgrade` alone (the lists already fetched).

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModule, report, startNode, tempDir, time } from './lib.mjs';

const { buildRepository } = await loadModule('test/security/repository.ts');
const { writeAptFiles } = await loadModule('updates/apt.ts');

const repo = buildRepository(tempDir('ps-secbench-'));
process.env.PLATFORM_OS_ROOT = repo.root; // the daemon's OS root: never this machine's packages
const node = await startNode('ps-secbench-home-', 43000 + (process.pid % 1000));
try {
  mkdirSync(join(node.home, 'media'), { recursive: true });
  copyFileSync(repo.key, join(node.home, 'media', 'repo-key.asc'));
  node.platform('security', 'source', `file://${repo.repo}`, 'key', 'repo-key.asc');
  const source = JSON.parse(node.platform('--json', 'security', 'source'));
  const pending = JSON.parse(node.platform('--json', 'security', 'check')).updates.length;
  if (pending !== 2) throw new Error(`security check found ${pending} updates, not 2`);

  // The baseline: the same apt.conf (the product's own writer), apt-get run by hand.
  const state = tempDir('ps-secbench-apt-');
  const conf = writeAptFiles({ root: repo.root, state }, { uri: source.uri, suite: source.suite, components: source.components, key: readFileSync(repo.key).toString('base64'), fingerprints: source.keyFingerprints }, undefined);
  const apt = (...args) => {
    const r = spawnSync('apt-get', ['-q', ...args], { env: { PATH: process.env.PATH, APT_CONFIG: conf, LC_ALL: 'C' }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  const runs = 7;
  const check = await time(() => node.platform('security', 'check'), runs);
  const baseline = await time(() => {
    apt('update', '--error-on=any');
    apt('-s', 'upgrade');
  }, runs);
  const simulateOnly = await time(() => apt('-s', 'upgrade'), runs);
  report(`security check against plain apt (file:// repository, 2 pending updates, median of ${runs})`, [
    { name: 'security check (console, daemon, apt update + -s upgrade)', ms: check, baselineName: 'apt-get update + -s upgrade', baselineMs: baseline },
    // What a check costs beyond listing from lists already fetched: the repository read and its signature checked, each time.
    { name: 'security check (console, daemon, apt update + -s upgrade)', ms: check, baselineName: 'apt-get -s upgrade alone', baselineMs: simulateOnly },
  ]);
} finally {
  await node.stop();
}
