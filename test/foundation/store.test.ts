import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store } from '../../store/db.js';
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

describe('audit redaction of words that did not parse', () => {
  it('hides URI passwords, SNMP communities and secret options', () => {
    expect(redactUnparsed(['backup', 'add', 'x', 'sftp://dan:s3cret@1.2.3.4/sftp'])).toBe('backup add x sftp://dan:***@1.2.3.4/sftp');
    expect(redactUnparsed(['notify', 'add', 'error', 'snmp://public@host'])).toBe('notify add error snmp://***@host');
    expect(redactUnparsed(['user', 'password', '--password=hunter2'])).toBe('user password --password=***');
  });
});
