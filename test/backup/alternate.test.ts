// A backup location with an alternate destination, against two real
// OpenSSH SFTP servers: with the primary down, `backup create` writes to the
// alternate and says so; `backup list` shows the archives of both, each
// marked by where it is; `verify` and `restore` find a backup at the
// alternate while the primary is down; with both down nothing is written and
// the error names both; the egress policy and `network requirements` know
// the alternate.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { killChild } from '../support/servers.js';
import { addServerAccount, startSftpServer } from '../support/sshd.mjs';

const USER = `psba${process.pid % 10000}`;
const PASSWORD = 'Altern-Pa55!';
const PORTS = { primary: freePort(), alternate: freePort() };
const dir = `/var/tmp/ps-alternate-${process.pid}`;
const folders = { primary: join(dir, 'home', 'primary'), alternate: join(dir, 'home', 'alternate') };
const uri = (which: 'primary' | 'alternate') => `sftp://${USER}:${PASSWORD}@127.0.0.1:${PORTS[which]}${folders[which]}`;
const shownUri = (which: 'primary' | 'alternate') => `sftp://${USER}:***@127.0.0.1:${PORTS[which]}${folders[which]}`;
const servers: Partial<Record<'primary' | 'alternate', ChildProcess>> = {};
let node: RunningDaemon;

const serve = async (which: 'primary' | 'alternate') => (servers[which] = await startSftpServer({ dir, port: PORTS[which], user: USER, hostKey: join(dir, 'host_key') }));
const stop = async (which: 'primary' | 'alternate') => {
  await killChild(servers[which]);
  delete servers[which];
};
const archives = (which: 'primary' | 'alternate') => (existsSync(folders[which]) ? readdirSync(folders[which]).filter((n) => n.endsWith('.psbk')) : []);

const ok = async (...words: string[]) => {
  const result = await node.platform(words);
  expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
};

beforeAll(async () => {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  addServerAccount({ user: USER, home: join(dir, 'home'), password: PASSWORD });
  for (const folder of Object.values(folders)) {
    mkdirSync(folder, { recursive: true });
    execFileSync('chown', [USER, folder]);
  }
  await serve('primary');
  await serve('alternate');
  node = await startDaemon();
  await ok('system', 'setup', '--hostname', 'app01', '--role', 'application');
  await ok('backup', 'key', 'generate');
  await ok('keys', 'add', '127.0.0.1', String(PORTS.primary), '--yes');
  await ok('keys', 'add', '127.0.0.1', String(PORTS.alternate), '--yes');
  const added = await ok('backup', 'add', 'offsite', uri('primary'), 'alternate', uri('alternate'));
  expect(added.stdout).toContain(shownUri('alternate'));
  expect(added.stdout).not.toContain(PASSWORD);
}, 60_000);

afterAll(async () => {
  await stop('primary');
  await stop('alternate');
  await node?.stop();
  spawnSync('userdel', [USER]);
  rmSync(dir, { recursive: true, force: true });
});

describe('a backup location with an alternate', () => {
  let atAlternate: string;
  let atPrimary: string;

  it('writes to the alternate when the primary cannot be reached, and names it', async () => {
    await stop('primary');
    const created = await ok('--json', 'backup', 'create', 'offsite');
    const answer = JSON.parse(created.stdout) as { backup: string; destination: string; uri: string; skipped: string[] };
    expect(answer).toMatchObject({ destination: 'alternate', uri: shownUri('alternate') });
    expect(answer.skipped).toHaveLength(1);
    expect(answer.skipped[0]).toMatch(new RegExp(`^the primary ${shownUri('primary').replace(/[*]/g, '\\*')}: .*(refused|ECONNREFUSED)`));
    expect(archives('alternate')).toEqual([answer.backup]);
    expect(archives('primary')).toEqual([]);
    atAlternate = answer.backup;
    // The console says it in words.
    await new Promise((r) => setTimeout(r, 1100)); // a backup's name has the second it was taken in
    const text = await ok('backup', 'create', 'offsite');
    expect(text.stdout).toMatch(new RegExp(`written to: alternate ${shownUri('alternate').replace(/[*]/g, '\\*')}`));
    expect(text.stdout).toContain('not written to: the primary');
    expect(text.stdout + text.stderr).not.toContain(PASSWORD);
  });

  it('writes to the primary again once it is back', async () => {
    await serve('primary');
    const created = JSON.parse((await ok('--json', 'backup', 'create', 'offsite')).stdout) as { backup: string; destination: string; skipped: string[] };
    expect(created).toMatchObject({ destination: 'primary', skipped: [] });
    expect(archives('primary')).toEqual([created.backup]);
    atPrimary = created.backup;
  });

  it('lists the backups of both destinations, each marked by where it is', async () => {
    const one = JSON.parse((await ok('--json', 'backup', 'list', 'offsite')).stdout) as { backups: { archive: string; destination: string }[]; unreachable: string | null };
    expect(one.unreachable).toBeNull();
    expect(one.backups.find((b) => b.archive === atAlternate)?.destination).toBe('alternate');
    expect(one.backups.find((b) => b.archive === atPrimary)?.destination).toBe('primary');
    expect(one.backups).toHaveLength(3);
    const all = await ok('backup', 'list');
    expect(all.stdout).toContain(`alternate: ${shownUri('alternate')}`);
    expect(all.stdout).toMatch(new RegExp(`${atAlternate} \\([^)]*at the alternate\\)`));
    expect(all.stdout).toMatch(new RegExp(`${atPrimary} \\([^)]*at the primary\\)`));
  });

  it('verifies and restores from the alternate while the primary is down', async () => {
    await stop('primary');
    const listed = await ok('backup', 'list', 'offsite');
    expect(listed.stdout).toContain(atAlternate);
    expect(listed.stdout).toMatch(/primary sftp:\/\/\S+ not reachable/);
    const verified = JSON.parse((await ok('--json', 'backup', 'verify', 'offsite', atAlternate)).stdout) as { archive: string };
    expect(verified.archive).toBe(atAlternate);
    // A change made after the backup, undone by the restore.
    await ok('network', 'ntp', 'add', '192.0.2.123');
    const restored = await node.platform(['--json', 'backup', 'restore', 'offsite', '--yes']);
    expect(restored.status, restored.stderr).toBe(0);
    // The newest backup reachable: the primary's is not, so the alternate's newest.
    expect((JSON.parse(restored.stdout) as { restored: string }).restored).toBe(archives('alternate').sort().at(-1));
    expect((await ok('network', 'ntp')).stdout).not.toContain('192.0.2.123');
  }, 60_000);

  it('writes nothing and names both destinations when neither can be reached', async () => {
    await stop('alternate');
    const had = [...archives('primary'), ...archives('alternate')];
    const result = await node.platform(['backup', 'create', 'offsite']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('neither destination of offsite works');
    expect(result.stderr).toContain(`the primary ${shownUri('primary')}`);
    expect(result.stderr).toContain(`the alternate ${shownUri('alternate')}`);
    expect(result.stderr).not.toContain(PASSWORD);
    expect([...archives('primary'), ...archives('alternate')]).toEqual(had);
    await serve('alternate');
  });

  it('is a destination of the egress policy and of network requirements', async () => {
    const requirements = await ok('--json', 'network', 'requirements', '--format', 'json');
    const rows = JSON.parse(requirements.stdout) as { destination: string; port: number; purpose: string }[];
    expect(rows).toContainEqual(expect.objectContaining({ destination: '127.0.0.1', port: PORTS.alternate, purpose: 'Backups to "offsite" (alternate) (sftp)' }));
    await ok('firewall', 'egress', 'strict');
    try {
      const strict = await ok('--json', 'firewall', 'egress');
      expect(JSON.parse(strict.stdout).destinations).toContainEqual(expect.objectContaining({ host: '127.0.0.1', port: PORTS.alternate, why: 'backup location "offsite" (alternate)' }));
    } finally {
      await ok('firewall', 'egress', 'open');
    }
  });
});
