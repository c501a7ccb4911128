// Backups over FTP to a real vsftpd (Debian's package) with an account of
// its own, on loopback: create, list, verify and restore; a wrong password
// is refused with a clear error and nothing is written.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';

const USER = `psf${process.pid % 10000}`;
const PASSWORD = 'Ftp-Pa55word!';
const PORT = freePort();
const PASV = freePort();
const dir = `/var/tmp/ps-ftp-${process.pid}`;
const home = join(dir, 'home');
let node: RunningDaemon;
let vsftpd: ChildProcess;

beforeAll(async () => {
  mkdirSync(join(home, 'backups'), { recursive: true });
  chmodSync(dir, 0o755);
  execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', USER]);
  execFileSync('chown', ['-R', USER, home]);
  execFileSync('chpasswd', [], { input: `${USER}:${PASSWORD}\n` });
  mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  writeFileSync(
    join(dir, 'vsftpd.conf'),
    [
      'listen=YES',
      'listen_ipv6=NO',
      'listen_address=127.0.0.1',
      `listen_port=${PORT}`,
      'background=NO',
      'anonymous_enable=NO',
      'local_enable=YES',
      'write_enable=YES',
      'local_umask=077',
      'pasv_enable=YES',
      'pasv_address=127.0.0.1',
      `pasv_min_port=${PASV}`,
      `pasv_max_port=${PASV}`,
      'pam_service_name=vsftpd',
      'secure_chroot_dir=/var/run/vsftpd/empty',
      'seccomp_sandbox=NO',
      `userlist_enable=YES`,
      `userlist_deny=NO`,
      `userlist_file=${join(dir, 'users')}`,
      'ssl_enable=NO',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'users'), `${USER}\n`);
  vsftpd = spawn('/usr/sbin/vsftpd', [join(dir, 'vsftpd.conf')], { stdio: 'ignore' });
  // Seconds on a machine busy with a VM under TCG.
  for (const deadline = Date.now() + 30_000; ; ) {
    const up = await new Promise((r) => {
      const s = connect(PORT, '127.0.0.1');
      s.on('connect', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`vsftpd did not listen on ${PORT} in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  node = await startDaemon();
  const p = (...words: string[]) => node.platform(words);
  expect((await p('system', 'setup', '--hostname', 'db01', '--role', 'database')).status).toBe(0);
  expect((await p('backup', 'key', 'generate')).status).toBe(0);
});

afterAll(async () => {
  vsftpd?.kill();
  await node?.stop();
  spawnSync('userdel', [USER]);
  rmSync(dir, { recursive: true, force: true });
});

const stored = () => readdirSync(join(home, 'backups'));

describe('ftp backups', () => {
  it('refuses a wrong password clearly and writes nothing', async () => {
    expect((await node.platform(['backup', 'add', 'wrong', `ftp://${USER}:nope@127.0.0.1:${PORT}/backups`])).status).toBe(0);
    const result = await node.platform(['backup', 'create', 'wrong']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('login refused');
    expect(stored()).toEqual([]);
  });

  it('creates, lists, verifies and restores', async () => {
    expect((await node.platform(['backup', 'add', 'ftp', `ftp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${PORT}/backups`])).status).toBe(0);
    const created = await node.platform(['backup', 'create', 'ftp']);
    expect(created.status, created.stderr).toBe(0);
    const files = stored().sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^db01-\d{8}T\d{6}Z\.psbk$/);
    expect(files.some((f) => f.includes('.partial-'))).toBe(false);
    expect((await node.platform(['backup', 'list', 'ftp'])).stdout).toContain(files[0]);
    const verified = await node.platform(['backup', 'verify', 'ftp']);
    expect(verified.status, verified.stderr).toBe(0);
    expect((await node.platform(['web', 'weight', 'add', '10.3.3.3:80', '2'])).status).toBe(0);
    const restored = await node.platform(['backup', 'restore', 'ftp', '--yes']);
    expect(restored.status, restored.stderr).toBe(0);
    expect((await node.platform(['web', 'weight', 'list'])).stdout).not.toContain('10.3.3.3');
  });
});
