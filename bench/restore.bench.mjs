// `platform backup restore` of one archive end to end (download, decrypt,
// unpack within the data folder's room, store check, journalled swap of the
// trees and the store, restart of nginx, the firewall and the cluster agent)
// on a running node, against `platform backup verify` of the same archive on
// the same node in the same run (everything before the swap).
//
// With BENCH_MAIN_ROOT=<a built checkout of an earlier version> it also
// restores the same archive on a node running that build, and prints this
// restore against it (the aim: within 1.5x of the restore before the
// restore was bounded and journalled).

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { median, report, startNode, tempDir } from './lib.mjs';

const RUNS = 9;
const location = tempDir('ps-restorebench-location-');
const keyText = `psbk1-${randomBytes(32).toString('base64url')}`;

/** A node with some configuration, the shared key and the shared location. */
async function node(prefix, port, root = '.') {
  const started = await startNode(prefix, port, root);
  const { platform } = started;
  platform('system', 'setup', '--hostname', 'bench01', '--role', 'webproxy');
  platform('backup', 'key', 'import', keyText);
  platform('backup', 'add', 'local', `file://${location}`);
  return started;
}

const ours = await node('ps-restorebench-home-', 46000 + (process.pid % 500) * 4);
for (let i = 0; i < 40; i++) ours.platform('user', 'add', `user${i}`);
for (let i = 0; i < 40; i++) ours.platform('web', 'weight', 'add', `10.9.${i}.5:8080`, String(1 + (i % 9)));
ours.platform('web', 'cert', 'gen_selfsigned');
ours.platform('backup', 'create', 'local');

const mainRoot = process.env.BENCH_MAIN_ROOT;
const before = mainRoot ? await node('ps-restorebench-main-', 47000 + (process.pid % 500) * 4, mainRoot) : undefined;

/** One timed run of a console command on a node (ms). */
function once(root, home, ...words) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(root, 'bin/platform.js'), '--home', home, '--yes', ...words], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${words.join(' ')} on ${root}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}
// Interleaved, so that the machine's load weighs on every measure alike.
const samples = { restore: [], verify: [], restoreBefore: [], verifyBefore: [] };
for (let i = 0; i < RUNS; i++) {
  samples.restore.push(once('.', ours.home, 'backup', 'restore', 'local'));
  samples.verify.push(once('.', ours.home, 'backup', 'verify', 'local'));
  if (before) {
    samples.restoreBefore.push(once(mainRoot, before.home, 'backup', 'restore', 'local'));
    samples.verifyBefore.push(once(mainRoot, before.home, 'backup', 'verify', 'local'));
  }
}
await ours.stop();
await before?.stop();

const [restore, verify] = [median(samples.restore), median(samples.verify)];
const rows = [{ name: 'backup restore (end to end)', ms: restore, baselineName: 'backup verify of the same archive', baselineMs: verify }];
if (before) {
  rows.push(
    { name: 'backup restore (end to end)', ms: restore, baselineName: `the same restore by ${mainRoot}`, baselineMs: median(samples.restoreBefore), aim: '<= 1.5x' },
    { name: 'backup verify', ms: verify, baselineName: `the same verify by ${mainRoot}`, baselineMs: median(samples.verifyBefore) },
  );
}

report(`backup restore of one archive (40 users, 40 weights, a certificate), median of ${RUNS}`, rows);
