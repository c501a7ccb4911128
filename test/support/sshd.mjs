// A real OpenSSH server configured by the product, for tests and benchmarks.
// `platformd --install-ssh` writes sshd's drop-in and PAM service into an OS
// root of the caller's own; sshd includes that drop-in, and authenticates
// with that PAM service under a name of its own: sshd names its PAM service
// after the program it runs as, so it runs here through a symbolic link
// called after the service, and the host's /etc/pam.d/sshd is never used.
// Plain JavaScript, so that bench/ runs the very same server.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';

const PLATFORMD = resolve(import.meta.dirname, '..', '..', 'bin', 'platformd.js');
const PAM_DIR = '/etc/pam.d';
const SERVICE_PREFIX = 'platform-test-sshd-';

/** PAM services left by a run that was killed: the pid in the name is gone. */
function removeStalePamServices() {
  for (const name of readdirSync(PAM_DIR).filter((n) => n.startsWith(SERVICE_PREFIX))) {
    const pid = Number(name.slice(SERVICE_PREFIX.length).split('-')[0]);
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(PAM_DIR, name), { force: true });
    }
  }
}

const portOpen = (port) =>
  new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), done(true)));
    socket.on('error', () => done(false));
  });

/** How long an sshd may take to listen: seconds on a machine busy with a VM under TCG. */
const LISTEN_TIMEOUT_MS = 30_000;

/** Resolves once `port` accepts; rejects, with what sshd said, if it exits first or takes too long. */
async function untilListening(child, port, said) {
  const deadline = Date.now() + LISTEN_TIMEOUT_MS;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = child.exitCode !== null ? `exited ${child.exitCode}` : `not listening after ${LISTEN_TIMEOUT_MS / 1000} s`;
      throw new Error(`sshd on port ${port} ${why}: ${said().trim().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

let started = 0;

/**
 * Starts sshd on 127.0.0.1:`port` for `allowUsers`, with the configuration
 * the product generates for the node at `home`. `dir` must be a folder of
 * the caller's that is not group- or world-writable (sshd checks).
 */
export async function startSshd({ home, dir, port, allowUsers, env = process.env }) {
  removeStalePamServices();
  const osRoot = join(dir, 'os');
  execFileSync(process.execPath, [PLATFORMD, '--home', home, '--install-ssh'], { env: { ...env, PLATFORM_OS_ROOT: osRoot } });
  const service = `${SERVICE_PREFIX}${process.pid}-${started++}`;
  copyFileSync(join(osRoot, 'etc', 'pam.d', 'sshd'), join(PAM_DIR, service));
  const program = join(dir, service);
  symlinkSync('/usr/sbin/sshd', program);
  const hostKey = join(dir, `${service}.host_key`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const config = join(dir, `${service}.sshd_config`);
  writeFileSync(
    config,
    [`HostKey ${hostKey}`, 'ListenAddress 127.0.0.1', `Port ${port}`, `PidFile ${join(dir, `${service}.pid`)}`, `AllowUsers ${allowUsers.join(' ')}`, `Include ${join(osRoot, 'etc', 'ssh', 'sshd_config.d', 'platform.conf')}`, ''].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child = spawn(program, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-20_000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(join(PAM_DIR, service), { force: true });
    rmSync(program, { force: true });
  };
  try {
    await untilListening(child, port, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pamService: service, osRoot, log: () => log, stop };
}

/**
 * A throwaway OS account for a customer's server, home at `home` (created,
 * owned by the account). With a password it logs in with it; without one it
 * takes keys only. Remove it with `userdel` when done.
 */
export function addServerAccount({ user, home, password }) {
  mkdirSync(home, { recursive: true });
  execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', user]);
  execFileSync('chown', ['-R', user, home]);
  chmodSync(home, 0o755);
  if (password) execFileSync('chpasswd', [], { input: `${user}:${password}\n` });
  else execFileSync('usermod', ['-p', '*', user]);
}

/**
 * A customer's SFTP server: stock sshd on 127.0.0.1:`port`, without PAM and
 * without the product's configuration, letting in `user` only, with the host
 * key at `hostKey` (made when missing). Resolves once it listens, with the
 * process to stop by its PID.
 */
export async function startSftpServer({ dir, port, user, hostKey = join(dir, 'host_key'), passwords = true }) {
  if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const config = join(dir, `sftp_sshd_config.${port}`);
  const yesNo = passwords ? 'yes' : 'no';
  writeFileSync(config, [`HostKey ${hostKey}`, 'ListenAddress 127.0.0.1', `Port ${port}`, 'UsePAM no', `PasswordAuthentication ${yesNo}`, 'KbdInteractiveAuthentication no', `PidFile ${join(dir, `sftp_sshd.${port}.pid`)}`, `AllowUsers ${user}`, 'Subsystem sftp internal-sftp', ''].join('\n'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-20_000)));
  try {
    await untilListening(child, port, () => log);
  } catch (error) {
    child.kill();
    throw error;
  }
  return child;
}
