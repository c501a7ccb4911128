// Backups against the shell tools, in the same run, on the same files: a
// store of 10,000 audit rows plus the node's certificates.
//   create:  the product's snapshot + gzip + AES-256-GCM archive
//            vs `sqlite3 .backup` then `tar czf - | age -r <recipient>`
//   restore: the product's decrypt + authenticate + unpack + store check
//            vs `age -d | tar xzf -`
//   sftp:    `platform backup create <sftp location>` on a running node whose
//            store holds the same 10,000 rows (snapshot, seal, upload to a real
//            OpenSSH sshd on loopback with the node's key) vs OpenSSH's `scp`
//            of that very archive, with the same key, to the same server

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join, resolve } from 'node:path';
import { median, report, tempDir, time, timeCommand } from './lib.mjs';
import { addServerAccount, startSftpServer } from '../test/support/sshd.mjs';

const ROOT = resolve(import.meta.dirname, '..');

/** The product's modules, bundled with the native ones left to node_modules. */
async function loadBackupModules() {
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'bench', `.backup-bench-${process.pid}.mjs`);
  await build({
    stdin: {
      contents: `export { Store } from './store/db.ts'; export { pathsFor } from './core/paths.ts'; export { writeArchive, unpackArchive, checkStagedStore } from './backup/snapshot.ts'; export { encryptStream } from './backup/crypto-stream.ts'; export { latestVersion } from './store/migrations.ts';`,
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
  for (let i = 0; i < 10_000; i++) store.audit.record({ user: 'platform', origin: 'ssh', address: '10.0.0.1', words: `web weight add 10.0.${i % 250}.1:8080 ${i % 100}`, outcome: 'ok', exit_status: 0, message: null });
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
  const unpacked = await m.unpackArchive(archive, key, dir, { maxBytes: 1 << 30, room: 1 << 30 }, signal);
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

// --- sftp upload against scp -------------------------------------------------

/** A loopback port nobody listens on now (the kernel picks it). */
const freeLoopbackPort = () =>
  new Promise((done, fail) => {
    const server = createServer().once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
const listening = async (port, child) => {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise((r) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
};
const stopChild = async (child, signal = 'SIGTERM') => {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, signal);
  await exited;
};

const SFTP_USER = `psbb${process.pid % 10000}`;
// sshd checks that the folders above a user's key file are not group- or world-writable.
const sftpDir = `/var/tmp/ps-backupbench-sftp-${process.pid}`;
const sftpHome = join(sftpDir, 'home');
const oursRemote = join(sftpHome, 'backups');
const scpRemote = join(sftpHome, 'scp');
const nodeHome = tempDir('ps-backupbench-node-');
const env = { ...process.env };
delete env.CI;
const platform = (...words) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'platform.js'), '--home', nodeHome, ...words], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`platform ${words.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
};
let daemon;
let sshd;
let userAdded = false;
let sftpCreate;
let scpUpload;
let archiveBytes;
try {
  mkdirSync(sftpDir, { recursive: true, mode: 0o755 });
  chmodSync(sftpDir, 0o755);
  addServerAccount({ user: SFTP_USER, home: sftpHome });
  userAdded = true;
  mkdirSync(oursRemote, { recursive: true });
  mkdirSync(scpRemote, { recursive: true });

  const [sshPort, webPort, httpPort, clusterPort] = [await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort()];
  sshd = await startSftpServer({ dir: sftpDir, port: sshPort, user: SFTP_USER, passwords: false });

  daemon = spawn(process.execPath, [join(ROOT, 'bin', 'platformd.js'), '--home', nodeHome, '--web-port', String(webPort), '--http-port', String(httpPort), '--cluster-port', String(clusterPort)], { stdio: 'ignore', env });
  while (!existsSync(join(nodeHome, 'run', 'platformd.sock'))) {
    if (daemon.exitCode !== null) throw new Error(`platformd exited ${daemon.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await listening(clusterPort, daemon);
  platform('system', 'setup', '--hostname', 'app01', '--role', 'application');
  platform('backup', 'key', 'generate');
  // The same data as above: 10,000 audit rows in the node's own store.
  const nodeStore = m.Store.open(m.pathsFor(nodeHome).database);
  nodeStore.tx(() => {
    for (let i = 0; i < 10_000; i++) nodeStore.audit.record({ user: 'platform', origin: 'ssh', address: '10.0.0.1', words: `web weight add 10.0.${i % 250}.1:8080 ${i % 100}`, outcome: 'ok', exit_status: 0, message: null });
  });
  nodeStore.close();
  platform('keys', 'create');
  platform('keys', 'add', '127.0.0.1', String(sshPort), '--yes');
  platform('backup', 'add', 'ssh', `sftp://${SFTP_USER}@127.0.0.1:${sshPort}${oursRemote}`);
  mkdirSync(join(sftpHome, '.ssh'), { recursive: true });
  const nodeKey = join(nodeHome, 'etc', 'ssh', 'id_ed25519');
  writeFileSync(join(sftpHome, '.ssh', 'authorized_keys'), readFileSync(`${nodeKey}.pub`));
  execFileSync('chown', ['-R', SFTP_USER, sftpHome]);
  chmodSync(sftpHome, 0o755);
  chmodSync(join(sftpHome, '.ssh'), 0o700);

  // Each run starts from an empty folder, so that names never collide and retention has nothing to do.
  const clear = (folder) => {
    for (const name of readdirSync(folder)) rmSync(join(folder, name), { recursive: true, force: true });
  };
  const samples = [];
  for (let i = 0; i < 6; i++) {
    clear(oursRemote);
    const start = process.hrtime.bigint();
    platform('backup', 'create', 'ssh');
    if (i > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e6); // the first one warms up
  }
  sftpCreate = median(samples);

  // The archive the node just uploaded, sent again by scp, with the node's key, to the same server.
  const uploaded = readdirSync(oursRemote).filter((n) => n.endsWith('.psbk'));
  if (uploaded.length !== 1) throw new Error(`expected one archive on the server, found ${uploaded.join(', ') || 'none'}`);
  const sameArchive = join(work, uploaded[0]);
  execFileSync('cp', [join(oursRemote, uploaded[0]), sameArchive]);
  archiveBytes = statSync(sameArchive).size;
  const scpArgs = ['-q', '-P', String(sshPort), '-i', nodeKey, '-o', `UserKnownHostsFile=${join(nodeHome, 'etc', 'ssh', 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', sameArchive, `${SFTP_USER}@127.0.0.1:scp/`];
  scpUpload = await timeCommand('scp', scpArgs, 5);
  if (!existsSync(join(scpRemote, uploaded[0]))) throw new Error('scp did not store the archive');
} finally {
  await stopChild(daemon);
  await stopChild(sshd);
  if (userAdded) spawnSync('userdel', [SFTP_USER]);
  rmSync(sftpDir, { recursive: true, force: true });
}

report('backup of a store with 10,000 audit rows and the certificates (median)', [
  { name: 'backup create (snapshot, gzip, AES-256-GCM)', ms: oursCreate, baselineName: 'sqlite3 .backup + tar czf | age', baselineMs: tarAgeCreate, aim: '<= 1.3x' },
  { name: 'backup restore (decrypt, authenticate, unpack, check)', ms: oursRestore, baselineName: 'age -d | tar xzf', baselineMs: tarAgeRestore, aim: '<= 1.3x' },
  { name: `platform backup create <sftp://> (archive + upload, ${(archiveBytes / 1024).toFixed(0)} KiB)`, ms: sftpCreate, baselineName: 'scp of the same archive, same key and server', baselineMs: scpUpload },
]);
writeFileSync(join(work, 'done'), '');
