// Releases (issue 23), each against a baseline in the same run:
//   verify:   `platform-release verify` (every file of an installed release
//             hashed and checked against the signed manifest) vs `sha256sum`
//             of the same files;                                   aim <= 1.3x
//   start-up: the check platformd makes at every start (stat of every file,
//             hash of what changed: nothing) in milliseconds;     aim <= 50 ms extra
//   gap:      how long the local API does not answer during `system upgrade`
//             vs a plain restart of the same release;            aim <= 1.5x

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { loadModule, median, report, tempDir, time } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS) || 5;
const ROOT = process.cwd();
const work = tempDir('ps-bench-release-');
const product = join(work, 'product');
const home = join(work, 'home');
mkdirSync(home);
const key = { privateKey: join(work, 'key.pem'), publicKey: join(work, 'key.pub.pem') };
const pair = generateKeyPairSync('ed25519');
writeFileSync(key.privateKey, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
writeFileSync(key.publicKey, pair.publicKey.export({ format: 'pem', type: 'spki' }));

const node = (args) => execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
node(['scripts/release.mjs', '--key', key.privateKey, '--version', '5.0.0', '--out', work]);
const first = join(work, 'platform-5.0.0.psup');
node(['bin/platform-release.js', 'install', first, '--product-root', product, '--key', key.publicKey]);

// 1. Full verification vs sha256sum of the same files.
const releaseDir = join(product, 'releases', '5.0.0');
const list = execFileSync('find', [releaseDir, '-type', 'f', '-not', '-path', '*/.release/*'], { encoding: 'utf8' }).trim().split('\n');
const releaseMiB = (Number(execFileSync('du', ['-sb', releaseDir], { encoding: 'utf8' }).split('\t')[0]) / 1048576).toFixed(0);
const listFile = join(work, 'files.txt');
writeFileSync(listFile, list.join('\0'));
const verifyMs = await time(() => node(['bin/platform-release.js', 'verify', '5.0.0', '--product-root', product]), RUNS);
const sha256sumMs = await time(() => spawnSync('sh', ['-c', `xargs -0 sha256sum < ${listFile} > /dev/null`]), RUNS);

// 2. The check at start, in process (what platformd adds to its start).
const { verifyInstalled } = await loadModule(join(ROOT, 'releases', 'install.ts'));
const { trustedKeys } = await loadModule(join(ROOT, 'releases', 'keys.ts'));
const { productRoot } = await loadModule(join(ROOT, 'releases', 'layout.ts'));
const root = productRoot(product);
const startCheckMs = await time(() => verifyInstalled(root, '5.0.0', trustedKeys(root)), RUNS);

// 3. The service gap: the longest stretch the local API socket refuses, while an upgrade or a restart happens.
const socket = join(home, 'run', 'platformd.sock');
const daemonArgs = ['--home', home, '--web-port', '46443', '--http-port', '46080', '--cluster-port', '46444'];
const program = join(product, 'current', 'bin', 'platformd.js');
const answers = () => new Promise((resolve) => {
  const c = connect(socket);
  c.once('connect', () => (c.destroy(), resolve(true)));
  c.once('error', () => resolve(false));
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function gapWhile(action, done) {
  let down;
  let longest = 0;
  let acted = false;
  const started = Date.now();
  const acting = action().then(() => (acted = true));
  for (;;) {
    const up = await answers();
    const now = performance.now();
    if (!up && down === undefined) down = now;
    if (up && down !== undefined) {
      longest = Math.max(longest, now - down);
      down = undefined;
    }
    if (up && acted && (await done())) break;
    if (Date.now() - started > 120_000) throw new Error('benchmark: the node did not come back in 120 s');
    await sleep(5);
  }
  await acting;
  return longest;
}
const pidOf = () => Number(readFileSync(join(home, 'run', 'platformd.pid'), 'utf8'));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const ready = () => { try { return JSON.parse(readFileSync(join(home, 'run', 'ready.json'), 'utf8')).pid === pidOf(); } catch { return false; } };
async function startDetached() {
  spawn(process.execPath, [program, ...daemonArgs], { detached: true, stdio: 'ignore', env: { ...process.env, CI: '' } }).unref();
  while (!ready()) await sleep(20);
}
async function restart() {
  const pid = pidOf();
  process.kill(pid, 'SIGTERM');
  while (alive(pid)) await sleep(5);
  await startDetached();
}
process.on('exit', () => { try { process.kill(pidOf(), 'SIGTERM'); } catch {} });
await startDetached();
const restartGaps = [];
for (let i = 0; i < RUNS; i++) {
  const before = pidOf();
  restartGaps.push(await gapWhile(restart, async () => pidOf() !== before && ready()));
}
const { deriveRelease } = await loadModule(join(ROOT, 'test', 'support', 'releases.ts'));
const upgradeGaps = [];
for (let i = 1; i <= RUNS; i++) {
  const file = await deriveRelease(first, join(work, `platform-5.0.${i}.psup`), key, { version: `5.0.${i}` });
  const before = pidOf();
  const upgrade = async () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'platform.js'), '--home', home, '--yes', 'system', 'upgrade', `file://${file}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  const finished = () => { try { return JSON.parse(readFileSync(join(product, 'state', 'last-attempt.json'), 'utf8')).to === `5.0.${i}` && pidOf() !== before && ready(); } catch { return false; } };
  upgradeGaps.push(await gapWhile(upgrade, async () => finished()));
  const result = JSON.parse(readFileSync(join(product, 'state', 'last-attempt.json'), 'utf8')).result;
  if (result !== 'upgraded') throw new Error(`benchmark: upgrade to 5.0.${i}: ${result}`);
  // The oldest release is not needed any more: keep the disk as it was.
  spawnSync('rm', ['-rf', join(product, 'releases', `5.0.${i - 1}`)]);
}
process.kill(pidOf(), 'SIGTERM');

report(`release verification (${list.length} files, ${releaseMiB} MiB) and upgrades, median of ${RUNS}`, [
  { name: 'platform-release verify (all hashed)', ms: verifyMs, baselineName: 'sha256sum of the same files', baselineMs: sha256sumMs, aim: '<= 1.3x' },
  { name: 'check at platformd start', ms: startCheckMs, aim: '<= 50 ms' },
  { name: 'API gap during system upgrade', ms: median(upgradeGaps), baselineName: 'plain restart, same release', baselineMs: median(restartGaps), aim: '<= 1.5x' },
]);
