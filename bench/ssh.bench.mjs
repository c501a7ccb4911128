// SSH against the same OpenSSH server, configured by the product
// (test/support/sshd.mjs), giving a plain account a `bash` login: a one-shot
// console command against `bash -c true`, an interactive login until the
// banner shows against the same, and an scp upload into media (sftp-server
// in its sandbox, behind the console) against the plain account's scp of the
// same file. Users and sshd are made here and removed at the end.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pty from 'node-pty';
import { startSshd } from '../test/support/sshd.mjs';
import { median, report, tempDir, timeCommand } from './lib.mjs';

const id = process.pid % 10000;
const ADMIN = `psba${id}`;
const PLAIN = `psbp${id}`;
const GROUP = `psbg${id}`;
const PORT = 43000 + (process.pid % 1000);
const dir = `/var/tmp/ps-sshbench-${process.pid}`;
const home = tempDir('ps-sshbench-home-');
const env = { ...process.env, PLATFORM_CONSOLE_GROUP: GROUP };
delete env.CI;
const platform = (...words) => spawnSync(process.execPath, ['bin/platform.js', '--home', home, ...words], { env, encoding: 'utf8' });

mkdirSync(join(dir, 'plain'), { recursive: true, mode: 0o755 });
chmodSync(dir, 0o755);
chmodSync(home, 0o755);
const shell = join(dir, 'console');
writeFileSync(shell, `#!/bin/sh\nexec ${process.execPath} ${resolve('bin/platform.js')} --home ${home} "$@"\n`, { mode: 0o755 });
execFileSync('groupadd', [GROUP]);
const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home, '--accounts-shell', shell, '--web-port', String(PORT + 1), '--http-port', String(PORT + 2), '--cluster-port', String(PORT + 3)], { stdio: 'ignore', env });
let sshd;
try {
  while (!existsSync(join(home, 'run', 'platformd.sock'))) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  platform('system', 'setup', '--hostname', 'bench', '--role', 'webproxy');
  platform('user', 'add', ADMIN);
  for (const prefix of ['system', 'health']) platform('user', 'grant', ADMIN, prefix);
  // As if the administrator had already chosen a password at the first login.
  execFileSync('chage', ['--lastday', new Date().toISOString().slice(0, 10), ADMIN]);
  // Its home is the node's too: sshd checks the folders above a key file up to the home.
  execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/bash', PLAIN]);
  execFileSync('chown', [PLAIN, join(dir, 'plain')]);
  execFileSync('usermod', ['-p', '*', PLAIN]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  writeFileSync(join(home, 'media', 'admin.pub'), readFileSync(join(dir, 'client_key.pub')));
  platform('user', 'addkey', ADMIN, 'admin.pub');
  writeFileSync(join(home, 'etc', 'authorized_keys', PLAIN), readFileSync(join(dir, 'client_key.pub')), { mode: 0o644 });
  sshd = await startSshd({ home, dir, port: PORT, allowUsers: [ADMIN, PLAIN], env });

  const options = ['-i', join(dir, 'client_key'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
  const sshArgs = [...options, '-p', String(PORT)];
  const baseline = await timeCommand('ssh', [...sshArgs, '--', `${PLAIN}@127.0.0.1`, 'bash -c true']);
  const oneShot = await timeCommand('ssh', [...sshArgs, '--', `${ADMIN}@127.0.0.1`, 'system', 'info', '--json']);
  const loginToBanner = () =>
    new Promise((resolvePromise, reject) => {
      const start = process.hrtime.bigint();
      const term = pty.spawn('ssh', [...sshArgs, '-tt', `${ADMIN}@127.0.0.1`], { cols: 100, rows: 30, env });
      let out = '';
      const timer = setTimeout(() => (term.kill(), reject(new Error(`no banner: ${out}`))), 10_000);
      term.onData((d) => {
        out += d;
        if (out.includes('host: bench')) {
          clearTimeout(timer);
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          term.kill();
          resolvePromise(ms);
        }
      });
    });
  await loginToBanner();
  const samples = [];
  for (let i = 0; i < 9; i++) samples.push(await loginToBanner());

  const upload = join(dir, 'upload.bin');
  writeFileSync(upload, Buffer.alloc(64 << 20, 7));
  const scpArgs = [...options, '-P', String(PORT), upload];
  const plainScp = await timeCommand('scp', [...scpArgs, `${PLAIN}@127.0.0.1:${join(dir, 'plain')}/`], 5);
  const mediaScp = await timeCommand('scp', [...scpArgs, `${ADMIN}@127.0.0.1:media/`], 5);

  report('ssh (median)', [
    { name: 'ssh one-shot: system info --json', ms: oneShot, baselineName: "ssh plain user 'bash -c true'", baselineMs: baseline },
    { name: 'ssh interactive login to banner', ms: median(samples), baselineName: "ssh plain user 'bash -c true'", baselineMs: baseline },
    { name: 'scp 64 MiB into media (sandboxed sftp-server)', ms: mediaScp, baselineName: 'scp 64 MiB, plain user, sshd sftp-server', baselineMs: plainScp },
  ]);
} finally {
  await sshd?.stop();
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  for (const user of [ADMIN, PLAIN]) spawnSync('userdel', [user]);
  spawnSync('groupdel', [GROUP]);
  rmSync(dir, { recursive: true, force: true });
}
