// Backups against the shell tools, in the same run, on the same files: a
// store of 10,000 audit rows plus the node's certificates.
//   create:  the product's snapshot + gzip + AES-256-GCM archive
//            vs `sqlite3 .backup` then `tar czf - | age -r <recipient>`
//   restore: the product's decrypt + authenticate + unpack + store check
//            vs `age -d | tar xzf -`

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { report, tempDir, time } from './lib.mjs';

const ROOT = resolve(import.meta.dirname, '..');

/** The product's modules, bundled with the native ones left to node_modules. */
async function loadBackupModules() {
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'bench', `.backup-bench-${process.pid}.mjs`);
  await build({
    stdin: {
      contents: `export { Store } from './store/db.ts'; export { pathsFor } from './store/paths.ts'; export { writeArchive, unpackArchive, checkStagedStore } from './backup/snapshot.ts'; export { encryptStream } from './backup/crypto-stream.ts'; export { latestVersion } from './store/migrations.ts';`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    external: ['better-sqlite3', 'ssh2', 'cpu-features', 'basic-ftp'],
    logLevel: 'error',
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  try {
    return await import(outfile);
  } finally {
    rmSync(outfile, { force: true });
  }
}

const m = await loadBackupModules();
const home = tempDir('ps-backupbench-home-');
const paths = m.pathsFor(home);
const store = m.Store.open(paths.database);
store.tx(() => {
  for (let i = 0; i < 10_000; i++) store.audit({ user: 'platform', origin: 'ssh', address: '10.0.0.1', words: `web weight add 10.0.${i % 250}.1:8080 ${i % 100}`, outcome: 'ok', exit_status: 0, message: null });
});
for (const dir of ['web', 'cluster', 'pending']) mkdirSync(join(paths.certs, dir), { recursive: true });
const openssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(paths.certs, 'web', 'privkey.pem'), '-out', join(paths.certs, 'web', 'fullchain.pem'), '-days', '30', '-subj', '/CN=bench');
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(paths.certs, 'cluster', 'node.key'), '-out', join(paths.certs, 'cluster', 'node.pem'), '-days', '30', '-subj', '/CN=bench');
openssl('genrsa', '-out', join(paths.certs, 'pending', 'privkey.pem'), '2048');

const key = randomBytes(32);
const work = tempDir('ps-backupbench-work-');
let n = 0;
const archive = join(work, 'latest.psbk');
const signal = new AbortController().signal;

const oursCreate = await time(async () => {
  const dir = join(work, `c${n++}`);
  mkdirSync(dir);
  await m.writeArchive({ store, paths, work: dir, out: join(dir, 'a.psbk'), innerManifest: { bench: true }, apps: [], encrypt: () => m.encryptStream(key), signal, progress: () => undefined });
  rmSync(archive, { force: true });
  execFileSync('mv', [join(dir, 'a.psbk'), archive]);
  rmSync(dir, { recursive: true });
}, 7);

const oursRestore = await time(async () => {
  const dir = join(work, `r${n++}`);
  const unpacked = await m.unpackArchive(archive, key, dir, 1 << 30, signal);
  m.checkStagedStore(unpacked.store, m.latestVersion);
  rmSync(dir, { recursive: true });
}, 7);

// The baseline: the same files with the shell tools.
const identity = join(work, 'age.key');
execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
const tarAgeCreate = await time(() => {
  const dir = join(work, `t${n++}`);
  mkdirSync(dir);
  execFileSync('sqlite3', [paths.database, `.backup ${join(dir, 'config.db')}`]);
  const r = spawnSync('sh', ['-c', `tar czf - -C "${dir}" config.db -C "${home}" certs | age -r "${recipient}" > "${join(work, 'baseline.age')}"`]);
  if (r.status !== 0) throw new Error(r.stderr.toString());
  rmSync(dir, { recursive: true });
}, 7);
const tarAgeRestore = await time(() => {
  const dir = join(work, `u${n++}`);
  mkdirSync(dir);
  const r = spawnSync('sh', ['-c', `age -d -i "${identity}" "${join(work, 'baseline.age')}" | tar xzf - -C "${dir}"`]);
  if (r.status !== 0) throw new Error(r.stderr.toString());
  rmSync(dir, { recursive: true });
}, 7);
store.close();

report('backup of a store with 10,000 audit rows and the certificates (median)', [
  { name: 'backup create (snapshot, gzip, AES-256-GCM)', ms: oursCreate, baselineName: 'sqlite3 .backup + tar czf | age', baselineMs: tarAgeCreate, aim: '<= 1.3x' },
  { name: 'backup restore (decrypt, authenticate, unpack, check)', ms: oursRestore, baselineName: 'age -d | tar xzf', baselineMs: tarAgeRestore, aim: '<= 1.3x' },
]);
writeFileSync(join(work, 'done'), '');
