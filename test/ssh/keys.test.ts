// The node's own key and trusted hosts, against a real OpenSSH server with
// a password account: keys add shows and stores the host key, keys send
// installs ours, and the key alone logs in afterwards.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';
import { PLATFORM } from '../support/daemon.js';

const USER = `psk${process.pid % 10000}`;
const PORT = freePort();
const dir = `/var/tmp/ps-keys-${process.pid}`;
let node: RunningDaemon;
let sshd: ChildProcess;

beforeAll(async () => {
  mkdirSync(join(dir, 'home'), { recursive: true });
  chmodSync(dir, 0o755);
  execFileSync('useradd', ['-M', '-d', join(dir, 'home'), '-s', '/bin/sh', USER]);
  execFileSync('chown', [USER, join(dir, 'home')]);
  chmodSync(join(dir, 'home'), 0o755);
  execFileSync('chpasswd', [], { input: `${USER}:Backup-Pa55!\n` });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  writeFileSync(join(dir, 'sshd_config'), [`HostKey ${join(dir, 'host_key')}`, 'ListenAddress 127.0.0.1', 'UsePAM no', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no', `PidFile ${join(dir, 'sshd.pid')}`, `AllowUsers ${USER}`, ''].join('\n'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(PORT)], { stdio: 'ignore' });
  node = await startDaemon();
  await new Promise((r) => setTimeout(r, 300));
});

afterAll(async () => {
  sshd?.kill();
  await node?.stop();
  spawnSync('userdel', [USER]);
  rmSync(dir, { recursive: true, force: true });
});

const hostKeyFingerprint = () => execFileSync('ssh-keygen', ['-lf', join(dir, 'host_key.pub')], { encoding: 'utf8' }).split(' ')[1]!;

describe('keys', () => {
  it('creates the node key pair', async () => {
    const created = await node.platform(['keys', 'create']);
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(/public key: ssh-ed25519 \S+ platform@/);
    expect(created.stdout).toMatch(/fingerprint: SHA256:\S+/);
    expect((await node.platform(['keys', 'create'])).status).toBe(1); // replacing needs a yes
  });

  it('refuses to send the key to a host it does not trust yet', async () => {
    const result = await node.platform(['keys', 'send', `${USER}@127.0.0.1`, String(PORT)]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`run "keys add 127.0.0.1 ${PORT}" first`);
  });

  it("shows a host's fingerprint before trusting it", async () => {
    expect((await node.platform(['keys', 'add', '127.0.0.1', String(PORT)])).stderr).toContain(hostKeyFingerprint());
    const added = await node.platform(['keys', 'add', '127.0.0.1', String(PORT), '--yes']);
    expect(added.status).toBe(0);
    expect(added.stdout).toContain(hostKeyFingerprint());
    expect((await node.platform(['keys', 'list'])).stdout).toContain(`[127.0.0.1]:${PORT}: ssh-ed25519 ${hostKeyFingerprint()}`);
  });

  it('installs the key with the password once, then logs in with the key alone', async () => {
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home, 'keys', 'send', `${USER}@127.0.0.1`, String(PORT)]);
    try {
      await term.waitFor(`password of ${USER}@127.0.0.1`);
      term.write('Backup-Pa55!\r');
      await term.waitFor('now accepts this node');
      expect(await term.exited).toBe(0);
      expect(term.screen()).not.toContain('Backup-Pa55!');
    } finally {
      term.kill();
    }
    const ownKey = readFileSync(join(node.home, 'etc', 'ssh', 'id_ed25519.pub'), 'utf8').trim();
    expect(readFileSync(join(dir, 'home', '.ssh', 'authorized_keys'), 'utf8')).toContain(ownKey);
  });

  it('takes an administrator public key from media, and refuses anything else', async () => {
    writeFileSync(join(node.home, 'media', 'admin.pub'), readFileSync(join(dir, 'host_key.pub')));
    expect((await node.platform(['user', 'addkey', 'platform', 'admin.pub'])).stdout).toContain(hostKeyFingerprint());
    expect(readFileSync(join(node.home, 'etc', 'authorized_keys', 'platform'), 'utf8')).toContain('ssh-ed25519');
    writeFileSync(join(node.home, 'media', 'junk.pub'), 'ssh-ed25519 AAAA not-a-key\nsecond line\n');
    expect((await node.platform(['user', 'addkey', 'platform', 'junk.pub'])).stderr).toContain('not one OpenSSH public key line');
    expect((await node.platform(['user', 'addkey', 'nobody', 'admin.pub'])).stderr).toContain('no user named nobody');
  });

  it('stops trusting a host', async () => {
    expect((await node.platform(['keys', 'del', '127.0.0.1', String(PORT)])).status).toBe(0);
    expect((await node.platform(['keys', 'del', '127.0.0.1', String(PORT)])).status).toBe(2);
  });
});
