// Backups over SFTP to a real OpenSSH server (a password account of its
// own): the password asked at the prompt and never stored, then the node's
// key alone; an unknown or changed host key refused before any credential
// is sent; a server killed mid-upload leaves no backup behind and a clear
// error; a restore from the server puts the node back.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM, freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';
import { addServerAccount, startSftpServer } from '../support/sshd.mjs';

const USER = `psb${process.pid % 10000}`;
const PASSWORD = 'Backup-Pa55!';
const PORT = freePort();
const OTHER_PORT = freePort();
const dir = `/var/tmp/ps-sftp-${process.pid}`;
const remote = join(dir, 'home', 'backups');
let node: RunningDaemon;
let sshd: ChildProcess;

const serve = (port: number, hostKey: string) => startSftpServer({ dir, port, user: USER, hostKey });

const backups = () => (existsSync(remote) ? readdirSync(remote).filter((n) => n.endsWith('.psbk')) : []);

beforeAll(async () => {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  addServerAccount({ user: USER, home: join(dir, 'home'), password: PASSWORD });
  mkdirSync(remote, { recursive: true });
  execFileSync('chown', [USER, remote]);
  sshd = await serve(PORT, join(dir, 'host_key'));
  node = await startDaemon();
  const p = (...words: string[]) => node.platform(words);
  expect((await p('system', 'setup', '--hostname', 'app01', '--role', 'application')).status).toBe(0);
  expect((await p('backup', 'key', 'generate')).status).toBe(0);
  expect((await p('backup', 'add', 'ssh', `sftp://${USER}@127.0.0.1:${PORT}${remote}`)).status).toBe(0);
});

afterAll(async () => {
  sshd?.kill();
  await node?.stop();
  spawnSync('userdel', [USER]);
  rmSync(dir, { recursive: true, force: true });
});

describe('sftp backups', () => {
  it('refuses a server whose host key the node does not trust, before logging in', async () => {
    const result = await node.platform(['backup', 'create', 'ssh']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`keys add 127.0.0.1 ${PORT}`);
    expect(backups()).toEqual([]);
  });

  it('asks for the password when the node has no key, and never stores or shows it', async () => {
    expect((await node.platform(['keys', 'add', '127.0.0.1', String(PORT), '--yes'])).status).toBe(0);
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home, 'backup', 'create', 'ssh']);
    try {
      await term.waitFor(`password of ${USER}@127.0.0.1`, { timeout: 30_000 });
      term.write(`${PASSWORD}\r`);
      await term.waitFor('sha256', { timeout: 60_000 });
      expect(await term.exited).toBe(0);
      expect(term.screen()).not.toContain(PASSWORD);
    } finally {
      term.kill();
    }
    expect(backups()).toHaveLength(1);
    expect(readdirSync(remote).filter((n) => n.startsWith('.'))).toEqual([]);
    const db = readFileSync(join(node.home, 'config.db'));
    expect(db.includes(Buffer.from(PASSWORD))).toBe(false);
    expect((await node.platform(['log', 'audit'])).stdout).not.toContain(PASSWORD);
  });

  it("uses the node's key alone once the server accepts it, and verifies what it stored", async () => {
    expect((await node.platform(['keys', 'create'])).status).toBe(0);
    mkdirSync(join(dir, 'home', '.ssh'), { recursive: true });
    writeFileSync(join(dir, 'home', '.ssh', 'authorized_keys'), readFileSync(join(node.home, 'etc', 'ssh', 'id_ed25519.pub')));
    execFileSync('chown', ['-R', USER, join(dir, 'home', '.ssh')]);
    chmodSync(join(dir, 'home', '.ssh'), 0o700);
    await new Promise((r) => setTimeout(r, 1100));
    const created = await node.platform(['backup', 'create', 'ssh']);
    expect(created.status, created.stderr).toBe(0);
    expect(backups()).toHaveLength(2);
    const verified = await node.platform(['backup', 'verify', 'ssh']);
    expect(verified.status, verified.stderr).toBe(0);
    expect((await node.platform(['backup', 'list', 'ssh'])).stdout).toContain('yes');
  });

  it('refuses a server whose host key changed', async () => {
    const other = await serve(OTHER_PORT, join(dir, 'other_key'));
    try {
      // Trust the real key for that port, then the server presents another one.
      const known = join(node.home, 'etc', 'ssh', 'known_hosts');
      const line = readFileSync(known, 'utf8').split('\n').find((l) => l.startsWith(`[127.0.0.1]:${PORT} `))!;
      writeFileSync(known, readFileSync(known, 'utf8') + line.replace(`:${PORT} `, `:${OTHER_PORT} `) + '\n');
      expect((await node.platform(['backup', 'add', 'moved', `sftp://${USER}@127.0.0.1:${OTHER_PORT}${remote}`])).status).toBe(0);
      const result = await node.platform(['backup', 'create', 'moved']);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('not the one the node trusts');
    } finally {
      other.kill();
    }
  });

  it('a server killed mid-upload: a clear error, and nothing that looks like a backup', async () => {
    // A stand-in app whose dump is large and incompressible, so the upload takes a while.
    writeFileSync(join(node.home, 'etc', 'apps.json'), JSON.stringify([{ name: 'bigdata', service: 'database', dump: ['head', '-c', '30000000', '/dev/urandom'] }]));
    const before = backups();
    const run = node.platform(['backup', 'create', 'ssh']);
    // Wait for the temporary file to appear and grow, then kill the server and its sessions.
    for (let i = 0; i < 3000 && !readdirSync(remote).some((n) => n.includes('.partial-')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(remote).some((n) => n.includes('.partial-'))).toBe(true);
    // The listener and every session process under it (sshd's privilege-separated children hold the socket).
    const descendants = (pid: number): number[] => {
      const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
      return children.flatMap((child) => [child, ...descendants(child)]);
    };
    for (const pid of [sshd.pid!, ...descendants(sshd.pid!)]) process.kill(pid, 'SIGKILL');
    const result = await run;
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/lost|closed|ECONNRESET|not connected/i);
    expect(backups()).toEqual(before);
    sshd = await serve(PORT, join(dir, 'host_key'));
    const listed = await node.platform(['backup', 'list', 'ssh']);
    expect(listed.stdout.match(/app01-\d{8}T\d{6}Z\.psbk/g)).toHaveLength(before.length);
    rmSync(join(node.home, 'etc', 'apps.json'));
  }, 180_000);

  it('restores from the server', async () => {
    expect((await node.platform(['web', 'weight', 'add', '10.1.1.1:80', '3'])).status).toBe(0);
    const restored = await node.platform(['backup', 'restore', 'ssh', '--yes']);
    expect(restored.status, restored.stderr).toBe(0);
    expect((await node.platform(['web', 'weight', 'list'])).stdout).not.toContain('10.1.1.1');
  });
});
