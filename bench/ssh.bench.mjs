// SSH against the same OpenSSH server giving a plain `bash -c true` login:
// a one-shot console command over ssh, and an interactive login until the
// banner shows. Users and sshd are made here and removed at the end.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pty from 'node-pty';
import { median, report, tempDir, timeCommand } from './lib.mjs';

const id = process.pid % 10000;
const ADMIN = `psba${id}`;
const PLAIN = `psbp${id}`;
const GROUP = `psbg${id}`;
const PORT = 43000 + (process.pid % 1000);
const dir = `/var/tmp/ps-sshbench-${process.pid}`;
const home = tempDir('ps-sshbench-home-');
const env = { ...process.env };
delete env.CI;

mkdirSync(dir, { recursive: true, mode: 0o755 });
chmodSync(dir, 0o755);
chmodSync(home, 0o755);
const shell = join(dir, 'console');
writeFileSync(shell, `#!/bin/sh\nexec ${process.execPath} ${resolve('bin/platform.js')} --home ${home} "$@"\n`);
chmodSync(shell, 0o755);
execFileSync('groupadd', [GROUP]);
const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home, '--web-port', String(PORT + 1), '--http-port', String(PORT + 2), '--cluster-port', String(PORT + 3)], { stdio: 'ignore', env: { ...env, PLATFORM_SOCKET_GROUP: GROUP } });
let sshd;
try {
  execFileSync('useradd', ['-M', '-d', dir, '-s', shell, '-G', GROUP, ADMIN]);
  execFileSync('useradd', ['-M', '-d', dir, '-s', '/bin/bash', PLAIN]);
  for (const user of [ADMIN, PLAIN]) execFileSync('usermod', ['-p', '*', user]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  mkdirSync(join(dir, 'keys'), { mode: 0o755 });
  for (const user of [ADMIN, PLAIN]) writeFileSync(join(dir, 'keys', user), readFileSync(join(dir, 'client_key.pub')), { mode: 0o644 });
  writeFileSync(join(dir, 'sshd_config'), [`HostKey ${join(dir, 'host_key')}`, 'ListenAddress 127.0.0.1', 'UsePAM no', 'PasswordAuthentication no', `AuthorizedKeysFile ${join(dir, 'keys', '%u')}`, `PidFile ${join(dir, 'sshd.pid')}`, `AllowUsers ${ADMIN} ${PLAIN}`, 'PrintMotd no', 'PrintLastLog no', ''].join('\n'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(PORT)], { stdio: 'ignore' });
  while (!existsSync(join(home, 'run', 'platformd.sock'))) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  spawnSync(process.execPath, ['bin/platform.js', '--home', home, 'system', 'setup', '--hostname', 'bench', '--role', 'webproxy']);
  spawnSync(process.execPath, ['bin/platform.js', '--home', home, 'user', 'add', ADMIN]);
  spawnSync(process.execPath, ['bin/platform.js', '--home', home, 'user', 'grant', ADMIN, 'system']);
  spawnSync(process.execPath, ['bin/platform.js', '--home', home, 'user', 'grant', ADMIN, 'health']);
  const sshArgs = ['-i', join(dir, 'client_key'), '-p', String(PORT), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
  const baseline = await timeCommand('ssh', [...sshArgs, '--', `${PLAIN}@127.0.0.1`, 'bash -c true']);
  const oneShot = await timeCommand('ssh', [...sshArgs, '--', `${ADMIN}@127.0.0.1`, 'system', 'info', '--json']);
  const loginToBanner = () =>
    new Promise((resolvePromise, reject) => {
      const start = process.hrtime.bigint();
      const term = pty.spawn('ssh', [...sshArgs, '-tt', `${ADMIN}@127.0.0.1`], { cols: 100, rows: 30, env });
      let out = '';
      const timer = setTimeout(() => (term.kill(), reject(new Error('no banner'))), 10_000);
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
  report('ssh (median)', [
    { name: 'ssh one-shot: system info --json', ms: oneShot, baselineName: "ssh plain user 'bash -c true'", baselineMs: baseline },
    { name: 'ssh interactive login to banner', ms: median(samples), baselineName: "ssh plain user 'bash -c true'", baselineMs: baseline },
  ]);
} finally {
  sshd?.kill();
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  for (const user of [ADMIN, PLAIN]) spawnSync('userdel', [user]);
  spawnSync('groupdel', [GROUP]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
