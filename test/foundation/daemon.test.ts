// The two programs end to end: a real platformd on a throwaway home and the
// real `platform` one-shot client.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runPlatform, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';
import { spawnSync } from 'node:child_process';

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
});
afterAll(async () => {
  await node?.stop();
});

describe('one-shot commands', () => {
  it('configures a node without questions and reports its identity as JSON', async () => {
    const setup = await node.platform(['system', 'setup', '--hostname', 'as01', '--role', 'unified,webproxy', '--ntp', '10.0.0.1', '--data-centre', 'jhb']);
    expect(setup.status).toBe(0);
    expect(setup.stdout).toContain('hostname: as01');
    const info = await node.platform(['--json', 'system', 'info']);
    expect(info.status).toBe(0);
    const identity = JSON.parse(info.stdout);
    expect(identity).toMatchObject({ hostname: 'as01', roles: ['unified', 'webproxy'], dataCentre: 'jhb', configured: true });
    expect(identity.versions.node).toBe(process.versions.node);
    expect(identity.addresses.length).toBeGreaterThan(0);
  });

  it('prints plain text when not on a terminal, with the banner for health', async () => {
    const health = await node.platform(['health']);
    // Exit status 1 while the banner warns (here: the database role's applications are not running).
    expect(health.status).toBe(/^(APPLICATION: .* DOWN|WEB CERT|SYSTEM IN MAINTENANCE|LOW DISK)/m.test(health.stdout) ? 1 : 0);
    expect(health.stdout).toMatch(/^host: as01, role: unified,webproxy, (load|LOAD): \d+\.\d\d$/m);
    expect(health.stdout).toMatch(/^date: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, up: /m);
    const help = await node.platform(['help']);
    expect(help.stdout).toMatch(/system - system administration/);
  });

  it('exits 2 on bad input, with a message naming what is wrong', async () => {
    const unknown = await node.platform(['sytem', 'info']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('did you mean "system"');
    const badRole = await node.platform(['system', 'setup', '--role', 'mainframe']);
    expect(badRole.status).toBe(2);
    expect(badRole.stderr).toContain('"mainframe" is not one of webproxy, application, database, unified');
    const json = await node.platform(['--json', 'sytem']);
    expect(JSON.parse(json.stdout).error.code).toBe('unknown-command');
  });

  it('exits 1 when a disruptive command is not confirmed, and 0 with --yes', async () => {
    const refused = await node.platform(['system', 'maintenance-mode', 'start']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('add --yes');
    expect((await node.platform(['sy', 'mai', 'stat'])).stdout).toContain('maintenance-mode: off');
    expect((await node.platform(['system', 'maintenance-mode', 'start', '--yes'])).status).toBe(0);
    expect((await node.platform(['health'])).stdout).toContain('SYSTEM IN MAINTENANCE MODE');
    expect((await node.platform(['system', 'maintenance-mode', 'stop', '--yes'])).status).toBe(0);
  });

  it('prints a USAGE list for a bare group', async () => {
    const usage = await node.platform(['system']);
    expect(usage.status).toBe(0);
    expect(usage.stdout).toMatch(/^USAGE:\n-+\n/);
    expect(usage.stdout).toContain('system info');
  });

  it('audits every command with its outcome, secrets redacted', async () => {
    await node.platform(['backup', 'add', 'remote', 'sftp://dan:topsecret@10.0.0.9/x']);
    await node.platform(['backup', 'add', 'broken', 'sftp://dan:topsecret@10.0.0.9:99999/x']);
    await node.platform(['system', 'info'], { env: { ...process.env, SSH_CONNECTION: '10.9.8.7 50000 10.0.0.1 22', CI: '' } });
    const db = new Database(join(node.home, 'config.db'), { readonly: true });
    const rows = db.prepare('SELECT user, origin, address, words, outcome, exit_status FROM audit ORDER BY id').all() as Record<string, unknown>[];
    db.close();
    const text = JSON.stringify(rows);
    expect(text).not.toContain('topsecret');
    expect(rows).toContainEqual(expect.objectContaining({ words: 'backup add remote sftp://dan:***@10.0.0.9/x', outcome: 'ok', exit_status: 0 }));
    expect(rows).toContainEqual(expect.objectContaining({ words: 'backup add broken sftp://dan:***@10.0.0.9:99999/x', outcome: 'bad-input', exit_status: 2 }));
    expect(rows).toContainEqual(expect.objectContaining({ words: 'system info', origin: 'ssh', address: '10.9.8.7', outcome: 'ok' }));
    expect(rows).toContainEqual(expect.objectContaining({ words: 'system maintenance-mode start', outcome: 'cancelled' }));
  });
});

describe('the daemon', () => {
  it('refuses a second instance on the same home', () => {
    const second = spawnSync(process.execPath, ['bin/platformd.js', '--home', node.home], { encoding: 'utf8', timeout: 20_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`already running for ${node.home} (pid ${node.pid})`);
  });

  it('shuts down cleanly on SIGTERM, and the client then says so with exit 3', async () => {
    const other = await startDaemon({ home: tempHome() });
    expect(await other.stop({ keepHome: true })).toBe(0);
    expect(existsSync(join(other.home, 'run', 'platformd.pid'))).toBe(false);
    const down = await runPlatform(other.home, ['system', 'info']);
    expect(down.status).toBe(3);
    expect(down.stderr).toContain('platformd is not running');
    expect(down.stderr).toContain(`platformd --home ${other.home}`);
    // The banner's facts are still shown, with the daemon's absence as a warning.
    const health = await runPlatform(other.home, ['health']);
    expect(health.status).toBe(3);
    expect(health.stdout).toMatch(/^PLATFORMD NOT RUNNING[^\n]*\nhost: /);
  });

  it('starts after a crash that left its pid file behind', async () => {
    const home = tempHome();
    const crashed = await startDaemon({ home });
    crashed.process.kill('SIGKILL');
    await new Promise((r) => crashed.process.once('exit', r));
    const again = await startDaemon({ home });
    expect((await again.platform(['system', 'info'])).status).toBe(0);
    await again.stop();
  });
});
