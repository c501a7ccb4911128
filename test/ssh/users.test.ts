// Users and their rights through the console's own commands.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { passwordProblems } from '../../ssh/policy.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
});
afterAll(async () => {
  await node?.stop();
});

describe('users', () => {
  it('adds a user with no rights and a first password to change, and lists it', async () => {
    const added = await node.platform(['user', 'add', 'joebrown']);
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/initial password: \S{10,}/);
    expect(added.stdout).toContain('The password must be changed at first login');
    expect((await node.platform(['user', 'add', 'joebrown'])).stderr).toContain('a user named joebrown exists');
    expect((await node.platform(['user', 'add', '9lives'])).stderr).toContain('must start with a letter');
    expect((await node.platform(['user', 'add', 'platform'])).status).toBe(2);
    const list = (await node.platform(['user', 'list'])).stdout;
    expect(list).toMatch(/user:\n {4}joebrown:\n {8}rights: value not set/);
    expect(list).toMatch(/security_policy:\n {4}joebrown:\n {8}account_locked: No\n {8}failed_logins: 0\n {8}must_change_password: Yes/);
    expect(added.stdout).toContain('embedded default: console users are not operating-system accounts here');
  });

  it('grants and revokes command prefixes that exist', async () => {
    expect((await node.platform(['user', 'grant', 'joebrown', 'app', 'start'])).stdout).toContain('rights: app start');
    expect((await node.platform(['user', 'grant', 'joebrown', 'web'])).stdout).toContain('rights: app start, web');
    expect((await node.platform(['user', 'grant', 'joebrown', 'bogus'])).stderr).toContain('unknown command "bogus"');
    expect((await node.platform(['user', 'grant', 'joebrown', 'app', 'fly'])).stderr).toContain('unknown command "app fly"');
    expect((await node.platform(['user', 'revoke', 'joebrown', 'web'])).stdout).toContain('rights: app start');
    expect((await node.platform(['user', 'revoke', 'joebrown', 'web'])).stderr).toContain('does not hold "web"');
  });

  it('asks for passwords only where someone can answer, and holds them to the policy', async () => {
    const result = await node.platform(['user', 'password', 'joebrown']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('nobody to ask');
    expect(passwordProblems('short')).toEqual(['at least 8 characters', 'an upper-case letter', 'a digit', 'a symbol']);
    expect(passwordProblems('Longer-Pa55')).toEqual([]);
    const own = await node.platform(['system', 'password']);
    expect(own.status).toBe(1);
    expect(own.stderr).toContain('not operating-system accounts here');
  });

  it('deletes a user with their rights, never the administrator', async () => {
    expect((await node.platform(['user', 'del', 'platform', '--yes'])).stderr).toContain('cannot be deleted');
    expect((await node.platform(['user', 'del', 'joebrown', '--yes'])).status).toBe(0);
    expect((await node.platform(['user', 'list'])).stdout).toContain('user: none');
  });

  it('shows the audit log, newest first, secrets redacted', async () => {
    await node.platform(['backup', 'add', 'x', 'sftp://u:pa55word@10.0.0.1/']);
    const log = await node.platform(['log', 'audit', '--since', '1h', '--limit', '3']);
    expect(log.stdout).toMatch(/time +user +from +command +result/);
    expect(log.stdout).toContain('backup add x sftp://u:***@10.0.0.1/');
    expect(log.stdout).not.toContain('pa55word');
    expect((await node.platform(['log', 'audit', '--since', 'yesterday'])).stderr).toContain('neither an ISO date');
  });
});

describe('who is calling', () => {
  it('gives no rights to a caller that claims a name without its token', async () => {
    const { request } = await import('../../shell/client.js');
    const caller = { user: 'platform', interactive: false, assumeYes: true };
    const spoofed = await request(join(node.home, 'run', 'platformd.sock'), { op: 'run', words: ['system', 'info'], caller });
    expect(spoofed).toMatchObject({ type: 'error', code: 'not-permitted' });
    const token = readFileSync(join(node.home, 'run', 'users', 'platform'), 'utf8');
    const proven = await request(join(node.home, 'run', 'platformd.sock'), { op: 'run', words: ['system', 'info'], caller: { ...caller, token } });
    expect(proven.type).toBe('result');
    expect(statSync(join(node.home, 'run', 'users', 'platform')).mode & 0o777).toBe(0o400);
  });
});
