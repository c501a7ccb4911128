// The daemon's store and processes under load, against baselines in the
// same run: `system info` while `diag ping` runs back to back (external
// processes run off the event loop: the ratio to an idle `system info`
// stays near 1), and a sealed, synced write (`backup add`: AES-GCM, a
// transaction, synchronous = FULL) against the idle read.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { report, tempDir, time } from './lib.mjs';

const home = tempDir('ps-storebench-');
const port = 43000 + (process.pid % 1000);
const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home, '--web-port', String(port), '--http-port', String(port + 1), '--cluster-port', String(port + 2)], { stdio: 'ignore' });
const platform = (...words) => {
  const r = spawnSync(process.execPath, ['bin/platform.js', '--home', home, '--yes', ...words], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${words.join(' ')}: ${r.stderr}`);
};
try {
  while (!existsSync(join(home, 'run', 'platformd.sock'))) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  const idle = await time(() => platform('system', 'info'));
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      await new Promise((resolve) => spawn(process.execPath, ['bin/platform.js', '--home', home, 'diag', 'ping', '127.0.0.1'], { stdio: 'ignore' }).once('exit', resolve));
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  const duringPing = await time(() => platform('system', 'info'));
  pinging = false;
  await pinger;
  let n = 0;
  const sealedWrite = await time(() => platform('backup', 'add', `loc${n++}`, `sftp://u:secret${n}@10.0.0.1/b`));
  report('store and processes (median)', [
    { name: 'system info while diag ping runs back to back', ms: duringPing, baselineName: 'system info, idle daemon', baselineMs: idle, aim: '<= 1.5x (blocked: ping takes ~2000 ms)' },
    { name: 'backup add (sealed URI, transaction, synced)', ms: sealedWrite, baselineName: 'system info, idle daemon', baselineMs: idle },
  ]);
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  rmSync(home, { recursive: true, force: true });
}
