import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store, storeKeyFile } from '../../store/db.js';
import { SEALED_SETTINGS, SETTINGS } from '../../store/settings.js';
import { latestVersion, migrations } from '../../store/migrations.js';
import { tempHome } from '../support/daemon.js';
import { redactUnparsed } from '../../daemon/execute.js';

const homes: string[] = [];
const freshFile = () => {
  const home = tempHome('ps-store-');
  homes.push(home);
  return join(home, 'config.db');
};
const NODE = { hostname: 'n1', roles: [], ntp: [], dns: [], dataCentre: 'default', maintenance: false };
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

describe('config store', () => {
  it('migrates an empty database to the latest schema, in WAL mode', () => {
    const file = freshFile();
    const store = Store.open(file);
    expect(store.schemaVersion).toBe(latestVersion);
    store.close();
    // Inspected from outside, as a copy of the file would be.
    const db = new Database(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['settings', 'audit', 'users', 'cluster_nodes', 'web_weights']));
    db.close();
  });

  it('migrates an older schema forward and keeps its data', () => {
    const file = freshFile();
    const old = Store.open(file, migrations.slice(0, 1));
    expect(old.schemaVersion).toBe(1);
    old.settings.set('node', { ...NODE, hostname: 'kept' });
    old.close();
    const store = Store.open(file);
    expect(store.schemaVersion).toBe(latestVersion);
    expect(store.settings.get('node')?.hostname).toBe('kept');
    store.close();
  });

  it('has strictly increasing migration versions', () => {
    const versions = migrations.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('leaves the previous state when a migration fails half-way', () => {
    const file = freshFile();
    Store.open(file, migrations.slice(0, 1)).close();
    const broken = [...migrations.slice(0, 1), { version: 2, summary: 'broken', sql: 'CREATE TABLE half (x); SELECT nonsense FROM nowhere;' }];
    expect(() => Store.open(file, broken)).toThrow();
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual({ n: 0 });
    db.close();
  });

  it('applies all of a transaction or none of it', () => {
    const store = Store.open(freshFile());
    store.settings.set('ssh.sessionLimit', 1);
    expect(() =>
      store.tx(() => {
        store.settings.set('ssh.sessionLimit', 2);
        store.settings.set('notify.emailrelay', 'relay.example.test');
        store.users.add('joe', new Date().toISOString());
        throw new Error('crash mid-command');
      }),
    ).toThrow('crash mid-command');
    expect(store.settings.get('ssh.sessionLimit')).toBe(1);
    expect(store.settings.get('notify.emailrelay')).toBeUndefined();
    expect(store.users.exists('joe')).toBe(false);
    store.close();
  });
});

describe('the repositories', () => {
  it('settings: typed keys with their defaults; unknown keys and wrong types do not compile', () => {
    const store = Store.open(freshFile());
    expect(store.settings.get('ssh.sessionLimit')).toBe(SETTINGS['ssh.sessionLimit'].fallback);
    expect(store.settings.get('firewall.management')).toEqual([]);
    expect(store.settings.get('notify.emailrelay')).toBeUndefined();
    // A default handed out is a copy: changing it changes nothing stored or defaulted.
    store.settings.get('firewall.management').push('10.0.0.0/8');
    expect(store.settings.get('firewall.management')).toEqual([]);
    store.settings.set('ssh.sessionLimit', 3);
    expect(store.settings.get('ssh.sessionLimit')).toBe(3);
    expect(store.settings.has('ssh.sessionLimit')).toBe(true);
    store.settings.set('ssh.sessionLimit', undefined);
    expect(store.settings.get('ssh.sessionLimit')).toBe(10);
    // @ts-expect-error a key that is not in SETTINGS
    expect(() => store.settings.get('no.such.key')).toThrow();
    // A value of the wrong type does not compile, and is refused when it comes from elsewhere.
    expect(() =>
      // @ts-expect-error a value of the wrong type
      store.settings.set('ssh.sessionLimit', 'ten'),
    ).toThrow(/settings "ssh.sessionLimit"/);
    store.close();
  });

  it('settings: sealed ones are sealed at rest, read in clear, and left out of what a bundle may show', () => {
    const file = freshFile();
    const store = Store.open(file);
    expect(SEALED_SETTINGS).toEqual(['network.proxy']);
    store.settings.set('network.proxy', 'http://joe:s3cret@proxy.example.test:3128');
    store.settings.set('notify.emailrelay', 'relay.example.test');
    expect(store.settings.get('network.proxy')).toBe('http://joe:s3cret@proxy.example.test:3128');
    expect(store.settings.withoutSecrets()).toEqual([{ key: 'notify.emailrelay', value: 'relay.example.test' }]);
    store.close();
    const db = new Database(file, { readonly: true });
    const stored = (db.prepare("SELECT value FROM settings WHERE key = 'network.proxy'").get() as { value: string }).value;
    db.close();
    expect(stored).toMatch(/^"sealed:/);
    expect(stored).not.toContain('s3cret');
  });

  it('inventory: replaced whole, primary by address and by certificate, seen, and the join window without its code', () => {
    const store = Store.open(freshFile());
    store.inventory.replace(
      [
        { address: '10.0.0.2', hostname: 'b', roles: ['database'], dataCentre: 'dc1', primary: false, fingerprint: 'FB' },
        { address: '10.0.0.1', hostname: 'a', roles: ['application'], dataCentre: 'dc1', primary: true, fingerprint: 'FA' },
      ],
      '2026-01-01T00:00:00.000Z',
    );
    expect(store.inventory.list().map((n) => n.hostname)).toEqual(['a', 'b']);
    expect(store.inventory.list()[0]).toEqual({ address: '10.0.0.1', hostname: 'a', roles: ['application'], dataCentre: 'dc1', primary: true, fingerprint: 'FA', lastSeen: undefined });
    expect([store.inventory.isPrimaryAddress('10.0.0.1'), store.inventory.isPrimaryAddress('10.0.0.2'), store.inventory.isPrimaryAddress('10.0.0.9')]).toEqual([true, false, false]);
    expect([store.inventory.isPrimaryFingerprint('FA'), store.inventory.isPrimaryFingerprint('FB')]).toEqual([true, false]);
    expect([store.inventory.knows('FB'), store.inventory.knows('FX')]).toEqual([true, false]);
    store.inventory.touch(['10.0.0.2'], '2026-02-02T00:00:00.000Z');
    expect(store.inventory.list().map((n) => n.lastSeen)).toEqual([undefined, '2026-02-02T00:00:00.000Z']);
    store.inventory.replace([], '2026-03-01T00:00:00.000Z');
    expect(store.inventory.list()).toEqual([]);

    expect(store.inventory.joinWindowOpen()).toBe(false);
    store.settings.set('cluster.joinable', { code: 'ABCDE-12345', until: '2026-05-01T00:15:00.000Z' });
    expect(store.inventory.joinWindowOpen(new Date('2026-05-01T00:00:00Z'))).toBe(true);
    expect(store.inventory.joinWindowOpen(new Date('2026-05-01T00:16:00Z'))).toBe(false);
    store.close();
  });

  it('users: added, granted, revoked, and removed with their rights', () => {
    const store = Store.open(freshFile());
    store.users.add('joe', '2026-01-01T00:00:00.000Z');
    expect(store.users.list()).toEqual([{ name: 'joe', mustChange: true }]);
    store.users.setMustChange('joe', false);
    expect(store.users.list()).toEqual([{ name: 'joe', mustChange: false }]);
    store.users.grant('joe', 'network');
    store.users.grant('joe', 'app start');
    store.users.grant('joe', 'network');
    expect(store.users.grants('joe')).toEqual(['app start', 'network']);
    expect(store.users.revoke('joe', 'network')).toBe(true);
    expect(store.users.revoke('joe', 'network')).toBe(false);
    expect(() => store.users.add('joe', '2026-01-02T00:00:00.000Z')).toThrow();
    store.users.remove('joe');
    expect([store.users.exists('joe'), store.users.grants('joe')]).toEqual([false, []]);
    // Rights of a name added again start empty: the old grant went with the user.
    store.users.add('joe', '2026-01-03T00:00:00.000Z');
    expect(store.users.grants('joe')).toEqual([]);
    store.close();
  });

  it('weights, backup locations and notification targets: kept, URIs sealed at rest', () => {
    const file = freshFile();
    const store = Store.open(file);
    store.weights.set('10.0.0.1:443', 5);
    store.weights.set('10.0.0.1:443', 0);
    store.weights.set('10.0.0.2:443', 2);
    const before = store.weights.list();
    expect(before).toEqual([{ server: '10.0.0.1:443', weight: 0 }, { server: '10.0.0.2:443', weight: 2 }]);
    store.weights.remove('10.0.0.2:443');
    expect(store.weights.has('10.0.0.2:443')).toBe(false);
    store.weights.replace(before);
    expect(store.weights.list()).toEqual(before);

    store.locations.add('offsite', 'sftp://dan:s3cret@backup.example.test/b');
    expect(store.locations.list()).toEqual([{ name: 'offsite', uri: 'sftp://dan:s3cret@backup.example.test/b', alternate: null }]);
    expect([store.locations.has('offsite'), store.locations.remove('offsite'), store.locations.remove('offsite')]).toEqual([true, true, false]);
    store.locations.add('offsite', 'sftp://dan:s3cret@backup.example.test/b');

    store.notifyTargets.add('warn', ['snmp://c0mmunity@nms.example.test', 'snmp://c0mmunity@nms.example.test']);
    store.notifyTargets.add('warn', ['snmp://c0mmunity@nms.example.test', 'mailto:ops@example.test']);
    expect(store.notifyTargets.list()).toEqual([
      { level: 'warn', uri: 'mailto:ops@example.test' },
      { level: 'warn', uri: 'snmp://c0mmunity@nms.example.test' },
    ]);
    expect([store.notifyTargets.remove('error', 'mailto:ops@example.test'), store.notifyTargets.remove('warn', 'mailto:ops@example.test')]).toEqual([false, true]);
    store.close();
    const db = new Database(file, { readonly: true });
    const uris = (db.prepare('SELECT uri FROM backup_locations UNION ALL SELECT uri FROM notify_targets').all() as { uri: string }[]).map((r) => r.uri);
    db.close();
    expect(uris).toHaveLength(2);
    for (const uri of uris) expect(uri).toMatch(/^sealed:/);
  });

  it('audit: recorded, newest first, pruned by age', () => {
    const store = Store.open(freshFile());
    for (const at of ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']) {
      store.audit.record({ at, user: 'joe', origin: 'ssh', address: '192.0.2.1', words: 'app list', outcome: 'ok', exit_status: 0, message: null });
    }
    expect(store.audit.recent().map((e) => e.at)).toEqual(['2026-03-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    expect(store.audit.recent({ since: '2026-02-01', limit: 1 }).map((e) => e.at)).toEqual(['2026-03-01T00:00:00.000Z']);
    expect(store.audit.prune('2026-02-15T00:00:00.000Z')).toBe(2);
    expect(store.audit.recent()).toHaveLength(1);
    store.close();
  });

  it("takes another store's contents whole, keeping its own audit log and daemon facts, resealing the secrets", async () => {
    const backupFile = freshFile();
    const backup = Store.open(backupFile);
    backup.settings.set('node', { ...NODE, hostname: 'restored' });
    backup.settings.set('daemon', { appliance: true, firewall: 'apply', webPorts: { https: 443, http: 80 }, clusterPort: 8443 });
    backup.settings.set('network.proxy', 'http://joe:s3cret@proxy.example.test:3128');
    backup.users.add('ann', '2026-01-01T00:00:00.000Z');
    backup.audit.record({ user: 'ann', origin: 'ssh', address: null, words: 'from the backup', outcome: 'ok', exit_status: 0, message: null });
    const copy = join(tempHome('ps-store-copy-'), 'config.db');
    homes.push(join(copy, '..'));
    await backup.copyTo(copy);
    backup.close();
    copyFileSync(storeKeyFile(backupFile), storeKeyFile(copy));
    Store.open(copy).closeAsSingleFile();
    expect(Store.examine(copy)).toEqual({ version: latestVersion, integrity: 'ok' });

    const live = Store.open(freshFile());
    live.settings.set('daemon', { appliance: false, firewall: 'plan', webPorts: { https: 9443, http: 9080 }, clusterPort: 18443 });
    live.users.add('joe', '2026-01-01T00:00:00.000Z');
    live.audit.record({ user: 'joe', origin: 'ssh', address: null, words: 'on this node', outcome: 'ok', exit_status: 0, message: null });
    await live.replaceContentsFrom(copy);
    expect(live.settings.get('node')?.hostname).toBe('restored');
    expect(live.settings.get('daemon')?.clusterPort).toBe(18443);
    expect(live.settings.get('network.proxy')).toBe('http://joe:s3cret@proxy.example.test:3128');
    expect(live.users.names()).toEqual(['ann']);
    expect(live.audit.recent().map((e) => e.words)).toEqual(['on this node']);
    live.close();
  });
});

describe('audit redaction of words that did not parse', () => {
  it('hides URI passwords, SNMP communities and secret options', () => {
    expect(redactUnparsed(['backup', 'add', 'x', 'sftp://dan:s3cret@1.2.3.4/sftp'])).toBe('backup add x sftp://dan:***@1.2.3.4/sftp');
    expect(redactUnparsed(['notify', 'add', 'error', 'snmp://public@host'])).toBe('notify add error snmp://***@host');
    expect(redactUnparsed(['user', 'password', '--password=hunter2'])).toBe('user password --password=***');
  });
});
