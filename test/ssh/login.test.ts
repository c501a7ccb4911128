// Administrators over SSH, with Debian's OpenSSH server and client, set up
// as the product sets up an appliance: `platformd --install-ssh` writes
// sshd's drop-in and PAM service (test/support/sshd.mjs), and `user add`
// makes each console user an operating-system account whose login shell is
// the console. So a login lands in the console, `ssh user@host <command>`
// runs one command (split by the console, never by a shell), and scp/sftp
// reach only media (OpenSSH's sftp-server in a sandbox).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';
import { startSshd, type Sshd } from '../support/sshd.mjs';

const ID = process.pid % 10000;
const ADMIN = `psa${ID}`; // granted "system", "health" and "web cert add"
const VICTIM = `psv${ID}`; // someone guesses at this one's password
const GROUP = `psg${ID}`; // the console users' group
const PORT = freePort();
const STRONG = 'Chosen-Pa55word';
const CHANGED = 'Changed-Pa55word';
// sshd refuses keys and shells under group- or world-writable folders: not /tmp.
const dir = `/var/tmp/ps-ssh-${process.pid}`;
let node: RunningDaemon;
let sshd: Sshd;
const initial: Record<string, string> = {};

const clientOptions = () => ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
const keyOptions = () => ['-i', join(dir, 'client_key'), '-o', 'BatchMode=yes', ...clientOptions()];
const passwordOptions = () => ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=keyboard-interactive', ...clientOptions()];
const sshArgs = (...extra: string[]) => [...keyOptions(), '-p', String(PORT), ...extra];
const scp = (from: string, to: string) => spawnSync('scp', [...keyOptions(), '-P', String(PORT), from, to], { encoding: 'utf8', env: withoutCI() });
const sftp = (script: string) => spawnSync('sftp', ['-b', '-', ...keyOptions(), '-P', String(PORT), `${ADMIN}@127.0.0.1`], { input: script, encoding: 'utf8', env: withoutCI() });
const ssh = (...command: string[]) => spawnSync('ssh', [...sshArgs(), '--', `${ADMIN}@127.0.0.1`, ...command], { encoding: 'utf8', env: withoutCI(), timeout: 30_000 });

/**
 * One password login without a terminal: ssh asks the askpass program,
 * which answers `password` to every prompt and notes the prompts it saw.
 */
function passwordLogin(user: string, password: string): Promise<{ status: number; stderr: string; prompts: string[] }> {
  const prompts = join(dir, `prompts-${Math.random().toString(36).slice(2)}`);
  const env = withoutCI({ SSH_ASKPASS: join(dir, 'askpass'), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'none', ANSWER: password, PROMPTS: prompts });
  const child = spawn('ssh', [...passwordOptions(), '-o', 'NumberOfPasswordPrompts=1', '-p', String(PORT), `${user}@127.0.0.1`, 'system', 'info'], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      const seen = existsSync(prompts) ? readFileSync(prompts, 'utf8').split('\n').filter(Boolean) : [];
      rmSync(prompts, { force: true });
      resolve({ status: code ?? 1, stderr, prompts: seen });
    }),
  );
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const home = tempHome();
  chmodSync(home, 0o755);
  execFileSync('groupadd', [GROUP]);
  const env = withoutCI({ PLATFORM_CONSOLE_GROUP: GROUP });
  // The console users' login shell: the console of this test's node.
  const shell = join(dir, 'console');
  writeFileSync(shell, `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'bin', 'platform.js')} --home ${home} "$@"\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'askpass'), '#!/bin/sh\necho "$1" >> "$PROMPTS"\necho "$ANSWER"\n', { mode: 0o755 });
  node = await startDaemon({ home, args: ['--accounts-shell', shell], env });
  await node.platform(['system', 'setup', '--hostname', 'ssh01', '--role', 'webproxy']);

  // The users, made with the console's own commands.
  for (const user of [ADMIN, VICTIM]) {
    const added = await node.platform(['--json', 'user', 'add', user]);
    expect(added.status, added.stderr).toBe(0);
    initial[user] = JSON.parse(added.stdout).initialPassword;
  }
  for (const prefix of [['system'], ['health'], ['web', 'cert', 'add']]) expect((await node.platform(['user', 'grant', ADMIN, ...prefix])).status).toBe(0);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  writeFileSync(join(home, 'media', 'admin.pub'), readFileSync(join(dir, 'client_key.pub')));
  expect((await node.platform(['user', 'addkey', ADMIN, 'admin.pub'])).status).toBe(0);
  writeFileSync(join(home, 'media', 'banner.txt'), 'Authorised administrators only.\n');
  expect((await node.platform(['system', 'banner', 'add', 'banner.txt'])).status).toBe(0);

  sshd = await startSshd({ home, dir, port: PORT, allowUsers: [ADMIN, VICTIM], env });
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await node?.stop();
  for (const user of [ADMIN, VICTIM]) spawnSync('userdel', [user]);
  spawnSync('groupdel', [GROUP]);
  rmSync(dir, { recursive: true, force: true });
});

describe('first login', () => {
  it('shows the banner, then makes the user change the first password, holding the new one to the policy', async () => {
    // ssh shows the pre-login banner at LogLevel INFO (it takes an option's first value).
    const term = openTerminal('ssh', ['-o', 'LogLevel=INFO', ...passwordOptions(), '-tt', '-p', String(PORT), `${ADMIN}@127.0.0.1`]);
    try {
      const banner = await term.waitFor('Authorised administrators only.', { timeout: 15_000 });
      const asked = await term.waitFor('Password:', { from: banner });
      term.write(`${initial[ADMIN]}\r`);
      await term.waitFor('You are required to change your password immediately', { from: asked });
      const current = await term.waitFor('Current password:', { from: asked });
      term.write(`${initial[ADMIN]}\r`);
      const first = await term.waitFor('New password:', { from: current });
      term.write('longbutweak\r');
      const refused = await term.waitFor(/BAD PASSWORD: .*(upper|digit)/, { from: first });
      const again = await term.waitFor('New password:', { from: refused });
      term.write(`${STRONG}\r`);
      await term.waitFor('Retype new password:', { from: again });
      term.write(`${STRONG}\r`);
      const console = await term.waitFor('host: ssh01, role: webproxy', { from: again, timeout: 15_000 });
      await term.waitFor(`${ADMIN}@ssh01:~$`, { from: console });
      term.write('exit\r');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
    expect((await node.platform(['user', 'list'])).stdout).toMatch(new RegExp(`${ADMIN}:\\n {8}account_locked: No\\n {8}failed_logins: 0\\n {8}must_change_password: No`));
  }, 60_000);
});

describe('changing one\'s own password', () => {
  it('system password asks twice without echo, holds the policy, and the new password logs in', async () => {
    const term = openTerminal('ssh', [...sshArgs('-tt'), `${ADMIN}@127.0.0.1`, 'system', 'password']);
    try {
      const asked = await term.waitFor(`new password for ${ADMIN}: `, { timeout: 15_000 });
      term.write(`${CHANGED}\r`);
      const again = await term.waitFor('again: ', { from: asked });
      term.write(`${CHANGED}\r`);
      await term.waitFor(`password of ${ADMIN} changed`, { from: again });
      expect(term.screen()).not.toContain(CHANGED);
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
    expect((await passwordLogin(ADMIN, CHANGED)).status).toBe(0);
    expect((await passwordLogin(ADMIN, STRONG)).status).toBe(255);
    expect((await node.platform(['user', 'unlock', ADMIN])).status).toBe(0); // forget that failure
  }, 60_000);
});

describe('one-shot commands over ssh', () => {
  it('returns the output and the exit status through ssh', () => {
    const info = ssh('--json', 'system', 'info');
    expect(info.stderr).toBe('');
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout).hostname).toBe('ssh01');
    const bad = ssh('system', 'health_monitoring', 'threshold', 'mainframe', '5');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('"mainframe" is not one of');
    const adminOnly = ssh('system', 'setup', '--role', 'webproxy');
    expect(adminOnly.status).toBe(1);
    expect(adminOnly.stderr).toContain('no right to run "system setup"');
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

  it('forwards no ports', () => {
    const forward = spawnSync('ssh', [...sshArgs('-N', '-o', 'ExitOnForwardFailure=yes', '-R', '0:127.0.0.1:22'), `${ADMIN}@127.0.0.1`], { encoding: 'utf8', env: withoutCI(), timeout: 15_000 });
    expect(forward.status).toBe(255);
    expect(forward.stderr).toContain('remote port forwarding failed');
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
    const root = sftp('ls /\n');
    expect(root.status).toBe(0);
    expect(root.stdout).toContain('media');
    expect(root.stdout).not.toMatch(/\b(home|root|var|opt|tmp)\b/);
    for (const attempt of ['get /etc/passwd /dev/null', 'get media/etc-link/passwd /dev/null', 'get /media/../../etc/passwd /dev/null', 'symlink /etc media/etc2', 'ln media/bundle.pem media/bundle2.pem' /* not even offered */, 'put /etc/hostname ../hostname', 'put /etc/hostname /hostname']) {
      const result = sftp(`${attempt}\n`);
      expect(result.status, attempt).not.toBe(0);
    }
    expect(existsSync(join(node.home, 'media', 'etc2'))).toBe(false);
    expect(existsSync(join(node.home, 'media', 'bundle2.pem'))).toBe(false);
    expect(existsSync(join(node.home, 'hostname'))).toBe(false);
    expect(sftp('cd media\nls\n').stdout).toContain('bundle.pem');
  });
});

describe('session limit and banner', () => {
  it('shows the pre-login banner to one-shot commands too', () => {
    // ssh takes the first value of an option: LogLevel=INFO must come before sshArgs' ERROR.
    const result = spawnSync('ssh', ['-o', 'LogLevel=INFO', ...sshArgs(), '--', `${ADMIN}@127.0.0.1`, 'health'], { encoding: 'utf8', env: withoutCI() });
    expect(result.stderr).toContain('Authorised administrators only.');
  });

  it('refuses a sixth session of one user: with the default limit of 10, a user holds at most 5', async () => {
    const terms = Array.from({ length: 5 }, () => openTerminal('ssh', [...sshArgs('-tt'), `${ADMIN}@127.0.0.1`]));
    try {
      for (const term of terms) await term.waitFor(`${ADMIN}@ssh01:~$`, { timeout: 30_000 });
      const sixth = ssh('health');
      expect(sixth.status).toBe(1);
      expect(sixth.stderr).toContain(`${ADMIN} already holds 5 SSH sessions`);
    } finally {
      for (const term of terms) term.kill();
    }
    await new Promise((r) => setTimeout(r, 500));
    // `system info`, not `health`: health exits 1 while the banner warns.
    expect(ssh('system', 'info').status).toBe(0); // sessions that ended no longer count
  }, 90_000);
});

describe('interactive login with a key', () => {
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

describe('lockout after failed logins', () => {
  it('locks an account after 5 wrong passwords, even against the right one, until unlocked', async () => {
    const wrong = await Promise.all(Array.from({ length: 5 }, () => passwordLogin(VICTIM, 'not-the-Passw0rd')));
    expect(wrong.map((w) => w.status)).toEqual([255, 255, 255, 255, 255]);
    const locked = await passwordLogin(VICTIM, initial[VICTIM]!);
    expect(locked.status).toBe(255);
    expect(locked.prompts.join('\n')).not.toMatch(/current password/i); // never got past the password
    const list = (await node.platform(['user', 'list'])).stdout;
    expect(list).toMatch(new RegExp(`${VICTIM}:\\n {8}account_locked: Yes, until \\S+ \\S+ UTC\\n {8}failed_logins: 5 \\(last from 127\\.0\\.0\\.1 at \\S+ \\S+ UTC\\)`));

    const unlock = await node.platform(['user', 'unlock', VICTIM]);
    expect(unlock.stdout).toContain(`unlocked ${VICTIM} (5 failed logins, the last from 127.0.0.1)`);
    expect((await node.platform(['user', 'list'])).stdout).toMatch(new RegExp(`${VICTIM}:\\n {8}account_locked: No\\n {8}failed_logins: 0`));
    // The right password gets through again: PAM goes on to the first-login change.
    const after = await passwordLogin(VICTIM, initial[VICTIM]!);
    expect(after.prompts.join('\n')).toMatch(/current password/i);
  }, 60_000);

  it('still lets a locked account in with its key', async () => {
    await Promise.all(Array.from({ length: 5 }, () => passwordLogin(ADMIN, 'not-the-Passw0rd')));
    expect((await node.platform(['user', 'list'])).stdout).toMatch(new RegExp(`${ADMIN}:\\n {8}account_locked: Yes`));
    expect((await passwordLogin(ADMIN, CHANGED)).status).toBe(255);
    expect(ssh('system', 'info').status).toBe(0);
    expect((await node.platform(['user', 'unlock', ADMIN])).status).toBe(0);
  }, 60_000);
});

describe('the audit log', () => {
  it('shows each of these with the SSH source address', async () => {
    const entries = JSON.parse((await node.platform(['--json', 'log', 'audit', '--limit', '1000'])).stdout) as { user: string; address: string | null; words: string; outcome: string }[];
    const mine = entries.filter((e) => e.user === ADMIN);
    expect(mine.every((e) => e.address === '127.0.0.1')).toBe(true);
    const seen = (words: string, outcome: string) => expect(mine, `${words} ${outcome}`).toContainEqual(expect.objectContaining({ words, outcome }));
    seen('ssh login', 'ok');
    seen('system info', 'ok');
    seen('bash', 'bad-input');
    seen('firewall status', 'refused');
    seen('cluster list', 'refused');
    seen('sftp session', 'ok');
    seen('sftp put media/bundle.pem', 'ok');
    seen('web cert add bundle.pem', 'ok');
    seen('sftp put ../escaped.pem', 'refused');
    seen('sftp symlink', 'refused');
    seen('ssh command', 'refused'); // the sixth session
    const text = (await node.platform(['log', 'audit', '--since', '1h'])).stdout;
    expect(text).toMatch(new RegExp(`${ADMIN} +ssh 127\\.0\\.0\\.1 +sftp put media/bundle\\.pem +ok`));
  });
});
