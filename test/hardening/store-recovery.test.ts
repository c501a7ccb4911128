// Issue 21: a store whose rows fail their checks does not stop the node.
// Each hostile value an attacker's test put into a restored store made
// platformd never start again; now the real daemon starts in its recovery
// state: the banner says STORE INVALID, only recovery commands run (the
// others say why and how to recover), and a store-invalid event is recorded.

import { beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome } from '../support/daemon.js';

const home = tempHome('ps-recovery-');
const db = join(home, 'config.db');
const pristine = join(tempHome('ps-recovery-copy-'), 'config.db');

beforeAll(async () => {
  // A node that existed, with an audit trail and a user, stopped cleanly (the WAL folded in).
  const node = await startDaemon({ home });
  expect((await node.platform(['system', 'setup', '--hostname', 'kept', '--role', 'unified'])).status).toBe(0);
  await node.stop({ keepHome: true });
  copyFileSync(db, pristine);
});

/** The node's store as it was, edited as an attacker with the file would. */
function storeWith(sql: string, ...params: unknown[]): void {
  copyFileSync(pristine, db);
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });
  const file = new Database(db);
  file.prepare(sql).run(...params);
  file.close();
}

const setting = (key: string, text: string) => storeWith('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', key, text);

const hostile: { what: string; edit: () => void; table: string }[] = [
  { what: 'the node setting is not JSON', edit: () => setting('node', 'this is not json'), table: 'settings' },
  { what: 'a user named like a path', edit: () => storeWith("INSERT INTO users (name, must_change, created_at) VALUES ('../../../tmp/x', 1, '2026-01-01T00:00:00.000Z')"), table: 'users' },
  { what: 'ssh.sessionLimit 0 (every SSH login refused)', edit: () => setting('ssh.sessionLimit', '0'), table: 'settings' },
  { what: 'an audit retention of -36500 days (the nightly prune would empty the audit log)', edit: () => setting('log.auditRetentionDays', '-36500'), table: 'settings' },
  { what: 'a join window until 2099 with a known code', edit: () => setting('cluster.joinable', JSON.stringify({ code: 'ABCDE-12345', until: '2099-01-01T00:00:00.000Z' })), table: 'settings' },
  {
    what: 'a host name with a new line (a fake banner line)',
    edit: () => setting('node', JSON.stringify({ hostname: 'kept\nHEALTH: ALL GOOD', roles: ['unified'], ntp: [], dns: [], dataCentre: 'default', maintenance: false })),
    table: 'settings',
  },
  { what: 'a web weight that injects nginx configuration', edit: () => storeWith("INSERT INTO web_weights (server, weight) VALUES ('127.0.0.1:9 weight=1; } log_format pwn \"$x\"; upstream y { server 127.0.0.1:9', 1)"), table: 'web_weights' },
  { what: 'a column the product does not write', edit: () => storeWith('ALTER TABLE users ADD COLUMN shell TEXT'), table: 'schema' },
];

describe('platformd starts over an invalid store, in its recovery state', () => {
  for (const { what, edit, table } of hostile) {
    it(what, async () => {
      edit();
      const node = await startDaemon({ home });
      try {
        const health = await node.platform(['health']);
        expect(health.stdout).toContain(`STORE INVALID: ${table}`);
        expect(health.stdout).not.toMatch(/^HEALTH: ALL GOOD/m);
        // Recovery commands run; the others say why not and how to recover.
        expect((await node.platform(['log', 'audit'])).status).toBe(0);
        const refused = await node.platform(['app', 'list']);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toMatch(/the config store is invalid \(.+\): platformd runs only recovery commands/);
        expect(refused.stderr).toMatch(/backup restore <location>/);
      } finally {
        await node.stop({ keepHome: true });
      }
      expect(node.output()).toMatch(/starting in the recovery state/);
      expect(node.output()).not.toMatch(/start failed|uncaught exception|unhandled rejection/);
      const file = new Database(db, { readonly: true });
      const events = file.prepare("SELECT text FROM events WHERE name = 'store-invalid'").all() as { text: string }[];
      const audit = (file.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
      file.close();
      expect(events.map((e) => e.text).join('\n')).toContain(`STORE INVALID: ${table}`);
      // Nothing the invalid store asked for was done: the audit log is all there.
      expect(audit).toBeGreaterThanOrEqual(3);
    });
  }

  it('removes a trigger (it would run on the node\'s own writes) before anything is written', async () => {
    storeWith('CREATE TRIGGER wipe AFTER INSERT ON audit BEGIN DELETE FROM audit; END');
    const node = await startDaemon({ home });
    try {
      expect((await node.platform(['app', 'list'])).status).toBe(0);
    } finally {
      await node.stop({ keepHome: true });
    }
    expect(node.output()).toMatch(/removed from the config store what this product never writes .*: trigger "wipe"/);
    const file = new Database(db, { readonly: true });
    const audit = file.prepare('SELECT words FROM audit ORDER BY id').all() as { words: string }[];
    const triggers = file.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger'").all();
    file.close();
    expect(triggers).toEqual([]);
    expect(audit.map((a) => a.words)).toEqual(expect.arrayContaining(['system setup --hostname kept --role unified', 'app list']));
  });

  it('leaves the recovery state once a good store is back', async () => {
    copyFileSync(pristine, db);
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });
    const node = await startDaemon({ home });
    try {
      const health = await node.platform(['health']);
      expect(health.stdout).not.toContain('STORE INVALID');
      expect((await node.platform(['app', 'list'])).status).toBe(0);
    } finally {
      await node.stop({ keepHome: true });
    }
  });
});

describe('a node in its recovery state is mended by restoring a backup', () => {
  it('restores, revokes the tokens of the users the backup does not hold, and serves every command again', async () => {
    const mendHome = tempHome('ps-recovery-mend-');
    const locationDir = tempHome('ps-recovery-backups-');
    let node = await startDaemon({ home: mendHome });
    const ok = async (...words: string[]) => {
      const result = await node.platform(words);
      expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };
    await ok('system', 'setup', '--hostname', 'mended', '--role', 'unified');
    await ok('backup', 'key', 'generate');
    await ok('backup', 'add', 'local', `file://${locationDir}`);
    await ok('user', 'add', 'ann');
    await ok('backup', 'create', 'local');
    // Added after the backup: the restore removes bob, and his token must stop proving him.
    await ok('user', 'add', 'bob');
    const tokens = join(mendHome, 'run', 'users');
    expect(readdirSync(tokens)).toEqual(expect.arrayContaining(['ann', 'bob']));
    await node.stop({ keepHome: true });

    const file = new Database(join(mendHome, 'config.db'));
    file.prepare("INSERT INTO settings (key, value) VALUES ('ssh.sessionLimit', '0') ON CONFLICT(key) DO UPDATE SET value = excluded.value").run();
    file.close();
    node = await startDaemon({ home: mendHome });
    try {
      expect((await node.platform(['health'])).stdout).toContain('STORE INVALID: settings');
      expect((await node.platform(['app', 'list'])).status).toBe(1);
      await ok('backup', 'restore', 'local', '--yes');
      expect(readdirSync(tokens)).toContain('ann');
      expect(readdirSync(tokens)).not.toContain('bob');
      expect((await node.platform(['health'])).stdout).not.toContain('STORE INVALID');
      await ok('app', 'list');
      expect(await ok('system', 'ssh_session_limit')).toMatch(/ssh_session_limit: 10/);
    } finally {
      await node.stop();
    }
  });
});
