// Administrators over SSH, with Debian's OpenSSH server and client: the
// console is the account's login shell, so an interactive login lands in it
// and `ssh user@host <command>` runs one command (sshd hands it over as
// `<shell> -c "<command>"`, split by the console, never by a shell).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, freePort, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';

const ID = process.pid % 10000;
const ADMIN = `psa${ID}`; // granted every command under "system" and "health"
const GROUP = `psg${ID}`;
const PORT = freePort();
// sshd refuses keys and shells under group- or world-writable folders: not /tmp.
const dir = `/var/tmp/ps-ssh-${process.pid}`;
let node: RunningDaemon;
let sshd: ReturnType<typeof import('node:child_process').spawn> | undefined;

/** Options of every OpenSSH client here (ssh takes -p, scp and sftp -P for the port). */
const clientOptions = () => ['-i', join(dir, 'client_key'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
const sshArgs = (...extra: string[]) => [...clientOptions(), '-p', String(PORT), ...extra];
const scp = (from: string, to: string) => spawnSync('scp', [...clientOptions(), '-P', String(PORT), from, to], { encoding: 'utf8', env: withoutCI() });
const sftp = (script: string) => spawnSync('sftp', ['-b', '-', ...clientOptions(), '-P', String(PORT), `${ADMIN}@127.0.0.1`], { input: script, encoding: 'utf8', env: withoutCI() });
const ssh = (...command: string[]) => spawnSync('ssh', [...sshArgs(), '--', `${ADMIN}@127.0.0.1`, ...command], { encoding: 'utf8', env: withoutCI(), timeout: 30_000 });

beforeAll(async () => {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const home = tempHome();
  chmodSync(home, 0o755);
  execFileSync('groupadd', [GROUP]);
  node = await startDaemon({ home, env: withoutCI({ PLATFORM_SOCKET_GROUP: GROUP }) });
  await node.platform(['system', 'setup', '--hostname', 'ssh01', '--role', 'webproxy']);

  // The account: its login shell is the console of this test's node.
  const shell = join(dir, 'console');
  writeFileSync(shell, `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'bin', 'platform.js')} --home ${home} "$@"\n`);
  chmodSync(shell, 0o755);
  execFileSync('useradd', ['-M', '-d', dir, '-s', shell, '-G', GROUP, ADMIN]);
  execFileSync('usermod', ['-p', '*', ADMIN]);
  // The console user and its rights, made with the console's own commands.
  expect((await node.platform(['user', 'add', ADMIN])).stdout).toContain('initial password');
  for (const prefix of [['system'], ['health'], ['web', 'cert', 'add']]) expect((await node.platform(['user', 'grant', ADMIN, ...prefix])).status).toBe(0);
  writeFileSync(join(home, 'media', 'banner.txt'), 'Authorised administrators only.\n');
  expect((await node.platform(['system', 'banner', 'add', 'banner.txt'])).status).toBe(0);

  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  mkdirSync(join(dir, 'keys'), { mode: 0o755 });
  writeFileSync(join(dir, 'keys', ADMIN), execFileSync('cat', [join(dir, 'client_key.pub')]));
  chmodSync(join(dir, 'keys', ADMIN), 0o644);
  writeFileSync(
    join(dir, 'sshd_config'),
    [`HostKey ${join(dir, 'host_key')}`, `Banner ${join(home, 'etc', 'sshd-banner')}`, 'ListenAddress 127.0.0.1', 'UsePAM no', 'PasswordAuthentication no', `AuthorizedKeysFile ${join(dir, 'keys', '%u')}`, `PidFile ${join(dir, 'sshd.pid')}`, `AllowUsers ${ADMIN}`, 'Subsystem sftp /usr/lib/openssh/sftp-server', 'PrintMotd no', ''].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const { spawn } = await import('node:child_process');
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(PORT)], { stdio: 'ignore' });
  for (let i = 0; i < 50 && ssh('health').status === 255; i++) await new Promise((r) => setTimeout(r, 100));
}, 60_000);

afterAll(async () => {
  sshd?.kill();
  await node?.stop();
  spawnSync('userdel', [ADMIN]);
  spawnSync('groupdel', [GROUP]);
  rmSync(dir, { recursive: true, force: true });
});

describe('one-shot commands over ssh', () => {
  it('returns the output and the exit status through ssh', () => {
    const info = ssh('--json', 'system', 'info');
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout).hostname).toBe('ssh01');
    const bad = ssh('system', 'setup', '--role', 'mainframe');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('"mainframe" is not one of');
    const unconfirmed = ssh('system', 'maintenance-mode', 'start');
    expect(unconfirmed.status).toBe(1);
  });

  it('passes shell metacharacters to the console as plain words', () => {
    for (const attempt of ['system info; id', 'system info && id', 'health $(id)', 'health `id`', 'health | id']) {
      const result = ssh(attempt);
      expect(result.stdout + result.stderr, attempt).not.toMatch(/uid=\d+/);
      expect(result.status, attempt).toBe(2);
    }
    const shell = ssh('bash');
    expect(shell.status).toBe(2);
    expect(shell.stderr).toContain('unknown command "bash"');
  });

  it('refuses and hides what the user was not granted', () => {
    const refused = ssh('firewall', 'status');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('you have no right to run "firewall status"');
    const help = ssh('help');
    expect(help.stdout).toContain('system - system administration');
    expect(help.stdout).not.toMatch(/(firewall|network|cluster) - /);
    const cluster = ssh('cluster', 'list');
    expect(cluster.status).toBe(1);
    expect(cluster.stderr).toContain('no right to run "cluster list"');
  });

  it('records each command in the audit log with its SSH source address', () => {
    const db = new Database(join(node.home, 'config.db'), { readonly: true });
    const rows = db.prepare('SELECT user, origin, address, words, outcome FROM audit WHERE user = ?').all(ADMIN) as Record<string, string>[];
    db.close();
    expect(rows).toContainEqual({ user: ADMIN, origin: 'ssh', address: '127.0.0.1', words: 'system info', outcome: 'ok' });
    expect(rows).toContainEqual({ user: ADMIN, origin: 'ssh', address: '127.0.0.1', words: 'firewall status', outcome: 'refused' });
  });
});

describe('files over scp and sftp', () => {
  it('uploads a certificate into media with scp and installs it with web cert add', () => {
    const key = join(dir, 'upload.key');
    const cert = join(dir, 'upload.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=ssh01', '-addext', 'subjectAltName=DNS:ssh01', '-addext', 'basicConstraints=critical,CA:FALSE'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'bundle.pem'), readFileSync(key, 'utf8') + readFileSync(cert, 'utf8'));
    const upload = scp(join(dir, 'bundle.pem'), `${ADMIN}@127.0.0.1:media/`);
    expect(upload.stderr).toBe('');
    expect(upload.status).toBe(0);
    expect(readFileSync(join(node.home, 'media', 'bundle.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    const add = ssh('web', 'cert', 'add', 'bundle.pem', '--yes');
    expect(add.stdout).toContain('installed and served: CN=ssh01');
    expect(add.status).toBe(0);
  });

  it('cannot leave the media folder', () => {
    expect(scp(join(dir, 'bundle.pem'), `${ADMIN}@127.0.0.1:../escaped.pem`).status).not.toBe(0);
    expect(existsSync(join(node.home, 'escaped.pem'))).toBe(false);
    symlinkSync('/etc', join(node.home, 'media', 'etc-link'));
    const session = sftp('ls /\nget /etc/passwd /dev/null\n');
    expect(session.status).not.toBe(0);
    expect(session.stdout).toContain('media');
    for (const attempt of ['get media/etc-link/passwd /dev/null', 'get /media/../../etc/passwd /dev/null', 'symlink /etc media/etc2', 'put /etc/hostname ../hostname']) {
      const result = sftp(`${attempt}\n`);
      expect(result.status, attempt).not.toBe(0);
    }
    expect(existsSync(join(node.home, 'media', 'etc2'))).toBe(false);
    expect(existsSync(join(node.home, 'hostname'))).toBe(false);
    expect(sftp('cd media\nls\n').stdout).toContain('bundle.pem');
  });
});

describe('session limit and banner', () => {
  it('shows the pre-login banner', () => {
    // ssh takes the first value of an option: LogLevel=INFO must come before sshArgs' ERROR.
    const result = spawnSync('ssh', ['-o', 'LogLevel=INFO', ...sshArgs(), '--', `${ADMIN}@127.0.0.1`, 'health'], { encoding: 'utf8', env: withoutCI() });
    expect(result.stderr).toContain('Authorised administrators only.');
  });

  it('refuses the eleventh session with the default limit of 10', async () => {
    const terms = Array.from({ length: 10 }, () => openTerminal('ssh', [...sshArgs('-tt'), `${ADMIN}@127.0.0.1`]));
    try {
      for (const term of terms) await term.waitFor(`${ADMIN}@ssh01:~$`, { timeout: 30_000 });
      const eleventh = ssh('health');
      expect(eleventh.status).toBe(1);
      expect(eleventh.stderr).toContain('already has 10 SSH sessions');
    } finally {
      for (const term of terms) term.kill();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(ssh('health').status).toBe(0); // sessions that ended no longer count
    const audit = await node.platform(['--json', 'log', 'audit', '--since', '1h']);
    expect(JSON.parse(audit.stdout)).toContainEqual(expect.objectContaining({ user: ADMIN, address: '127.0.0.1', words: 'ssh session', outcome: 'refused' }));
  }, 90_000);
});

describe('interactive login', () => {
  it('lands in the console: banner, then the prompt', async () => {
    const term = openTerminal('ssh', [...sshArgs('-tt'), `${ADMIN}@127.0.0.1`]);
    try {
      const banner = await term.waitFor('host: ssh01, role: webproxy', { timeout: 15_000 });
      await term.waitFor(`${ADMIN}@ssh01:~$`, { from: banner, timeout: 15_000 });
      term.write('sys inf\r');
      await term.waitFor('hostname: ssh01', { from: banner });
      term.write('exit\r');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
  });
});
