// Issue 21: the trust boundary reaches the store. Every row has one shape
// (store/rows.ts, store/settings.ts), checked when written and when read
// back; a store from elsewhere is accepted only with exactly the product's
// schema and rows that fit, read by a worker thread within a time bound.
// Each hostile value below is one an attacker's test put into a store.

import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../store/db.js';
import { TABLE_SHAPES } from '../../store/rows.js';
import { checkStagedStore } from '../../store/staged.js';
import { latestVersion, migrations } from '../../store/migrations.js';
import { PlatformError } from '../../core/errors.js';
import { pathsFor } from '../../core/paths.js';
import { issueTokens, revokeTokensExcept } from '../../users/tokens.js';
import { tempHome } from '../support/daemon.js';

const NODE = { hostname: 'n1', roles: ['unified'], ntp: [], dns: [], dataCentre: 'dc1', maintenance: false };
const open: Store[] = [];
afterEach(() => {
  for (const store of open.splice(0)) store.close();
});

const freshFile = () => join(tempHome('ps-schema-'), 'config.db');

/** A store of the product, closed, with `edit` then run on the file as an attacker with the file would. */
function storeFileWith(edit: (db: Database.Database) => void, prepare: (store: Store) => void = () => undefined, migrationsUsed = migrations): string {
  const file = freshFile();
  const store = Store.open(file, migrationsUsed);
  prepare(store);
  store.closeAsSingleFile();
  const db = new Database(file);
  edit(db);
  db.close();
  return file;
}

const reopen = (file: string) => {
  const store = Store.open(file);
  open.push(store);
  return store;
};

/** What throwing `fn` threw: a PlatformError "store-invalid", never a raw exception. */
function invalid(fn: () => unknown): PlatformError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).code).toBe('store-invalid');
    return error as PlatformError;
  }
  throw new Error('did not throw');
}

const setRaw = (key: string, text: string) => (db: Database.Database) => db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, text);

describe('settings: each value has a shape and a range, checked when read back and when written', () => {
  const hostile = [
    { key: 'node', text: 'this is not json', problem: /settings "node": not JSON text/ },
    { key: 'node', text: JSON.stringify({ ...NODE, hostname: 'n1\nSTORE OK: nothing to see' }), problem: /settings "node": hostname: not a host name/ },
    { key: 'ssh.sessionLimit', text: '0', problem: /settings "ssh.sessionLimit": .*>=1/ },
    { key: 'log.auditRetentionDays', text: '-36500', problem: /settings "log.auditRetentionDays": .*>=1/ },
    { key: 'cluster.joinable', text: JSON.stringify({ code: 'ABCDE-12345', until: '2099-01-01T00:00:00.000Z' }), problem: /settings "cluster.joinable": until: ends more than 15 minutes from now/ },
    { key: 'firewall.limits', text: JSON.stringify({ publicPerSecond: 0 }), problem: /settings "firewall.limits": publicPerSecond/ },
    { key: 'no.such.key', text: '1', problem: /settings "no.such.key": not a setting this product knows/ },
  ];
  for (const { key, text, problem } of hostile) {
    it(`refuses ${key} = ${text.slice(0, 60)}`, () => {
      const store = reopen(storeFileWith(setRaw(key, text)));
      if (key !== 'no.such.key') expect(invalid(() => store.settings.get(key as 'node')).message).toMatch(problem);
      expect(store.firstProblem()).toEqual({ table: 'settings', problem: expect.stringMatching(problem) });
    });
  }

  it('refuses to write a value out of its range or grammar, and keeps the one there', () => {
    const store = reopen(storeFileWith(() => undefined));
    store.settings.set('ssh.sessionLimit', 5);
    expect(invalid(() => store.settings.set('ssh.sessionLimit', 0)).message).toMatch(/ssh.sessionLimit/);
    expect(invalid(() => store.settings.set('node', { ...NODE, hostname: 'a\nb' } as never)).message).toMatch(/hostname/);
    expect(invalid(() => store.settings.set('cluster.joinable', { code: 'ABCDE-12345', until: '2099-01-01T00:00:00.000Z' })).message).toMatch(/15 minutes/);
    expect(store.settings.get('ssh.sessionLimit')).toBe(5);
    expect(store.firstProblem()).toBeUndefined();
  });

  it('accepts a join window of the prepnode length', () => {
    const until = new Date(Date.now() + 15 * 60_000).toISOString();
    const store = reopen(storeFileWith(setRaw('cluster.joinable', JSON.stringify({ code: 'ABCDE-12345', until }))));
    expect(store.settings.get('cluster.joinable')).toEqual({ code: 'ABCDE-12345', until });
  });
});

describe('tables: a row read back is checked against its shape', () => {
  it('a user named like a path', () => {
    const store = reopen(storeFileWith((db) => db.prepare("INSERT INTO users (name, must_change, created_at) VALUES ('../../../tmp/x', 1, '2026-01-01T00:00:00.000Z')").run()));
    expect(invalid(() => store.users.names()).message).toMatch(/users "\.\.\/\.\.\/\.\.\/tmp\/x": name: not a user name/);
    expect(store.firstProblem()?.table).toBe('users');
    expect(invalid(() => store.users.add('../x', new Date().toISOString())).message).toMatch(/users/);
  });

  it('a web weight whose server would end the nginx upstream', () => {
    const server = '127.0.0.1:9 weight=1; } log_format pwn "$x"; upstream y { server 127.0.0.1:9';
    const store = reopen(storeFileWith((db) => db.prepare('INSERT INTO web_weights (server, weight) VALUES (?, 1)').run(server)));
    expect(invalid(() => store.weights.list()).message).toMatch(/web_weights "127\.0\.0\.1:9 weight=1; }.*": server: not host:port/);
    expect(store.firstProblem()?.table).toBe('web_weights');
    expect(invalid(() => store.weights.set(server, 1)).message).toMatch(/web_weights/);
    expect(invalid(() => store.weights.set('app1:8443', 1000)).message).toMatch(/weight/);
  });

  it('a cluster member whose host name holds a new line, and roles that are not JSON', () => {
    const store = reopen(
      storeFileWith((db) =>
        db.prepare("INSERT INTO cluster_nodes (address, hostname, roles, data_centre, is_primary, joined_at) VALUES ('10.0.0.2', 'b\nc', '[]', 'dc1', 0, '2026-01-01T00:00:00.000Z'), ('10.0.0.3', 'c', 'not json', 'dc1', 0, '2026-01-01T00:00:00.000Z')").run(),
      ),
    );
    expect(invalid(() => store.inventory.list()).message).toMatch(/cluster_nodes "10.0.0.2": hostname: not a host name|cluster_nodes "10.0.0.3": roles: not JSON/);
  });

  it('a scheduled job whose timing is not JSON', () => {
    const store = reopen(storeFileWith((db) => db.prepare("INSERT INTO schedule_jobs (name, owner, words, timing, enabled, created_at) VALUES ('j', 'platform', '[\"health\"]', '{', 1, '2026-01-01T00:00:00.000Z')").run()));
    expect(invalid(() => store.schedule.list()).message).toMatch(/schedule_jobs "j": timing: not JSON/);
  });

  it('a backup location whose URI (sealed at rest) is not a URI', () => {
    // Kept in clear by the attacker; the store seals it at open, and checks its clear text when read.
    const store = reopen(storeFileWith((db) => db.prepare("INSERT INTO backup_locations (name, uri) VALUES ('x', 'sftp://u@host/p\nmore')").run()));
    expect(invalid(() => store.locations.list()).message).toMatch(/backup_locations "x": uri:/);
    expect(store.firstProblem()?.table).toBe('backup_locations');
  });

  it("a backup location whose alternate (sealed at rest, like its URI) is not a URI", () => {
    const store = reopen(storeFileWith((db) => db.prepare("INSERT INTO backup_locations (name, uri, alternate) VALUES ('x', 'sftp://u@host/p', 'ftp://u@other/p\u0007\nmore')").run()));
    expect(invalid(() => store.locations.list()).message).toMatch(/backup_locations "x": alternate:/);
    expect(store.firstProblem()?.table).toBe('backup_locations');
    // A location without one holds NULL, which fits; an empty text does not.
    const empty = reopen(storeFileWith((db) => db.prepare("INSERT INTO backup_locations (name, uri, alternate) VALUES ('y', 'sftp://u@host/p', '')").run()));
    expect(invalid(() => empty.locations.list()).message).toMatch(/backup_locations "y": alternate:/);
  });

  it('an event log row is checked when read (logs are not read whole at start)', () => {
    const store = reopen(storeFileWith((db) => db.prepare("INSERT INTO events (at, level, name, text) VALUES ('yesterday', 'warn', 'x', 't')").run()));
    expect(store.firstProblem()).toBeUndefined();
    expect(invalid(() => store.events.recent()).message).toMatch(/events "1": at: not an ISO 8601 time/);
  });
});

describe('the shapes cover the schema', () => {
  it('declares every table the migrations make, with exactly its columns (a restore copies what is declared)', () => {
    const db = new Database(':memory:');
    for (const migration of migrations) db.exec(migration.sql);
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    const columns = Object.fromEntries(tables.map((t) => [t, (db.prepare(`PRAGMA table_info("${t}")`).all() as { name: string }[]).map((c) => c.name).sort()]));
    db.close();
    expect(Object.fromEntries(Object.entries(TABLE_SHAPES).map(([t, shape]) => [t, Object.keys(shape.columns).sort()]))).toEqual(columns);
  });
});

describe('a staged store is accepted only with exactly the schema the product writes', () => {
  it("accepts the product's own store, of this version and of an older one", async () => {
    expect(await checkStagedStore(storeFileWith(() => undefined), latestVersion)).toBe(latestVersion);
    expect(await checkStagedStore(storeFileWith(() => undefined, undefined, migrations.slice(0, 2)), latestVersion)).toBe(2);
  });

  const hostile: [string, string][] = [
    ['a view', 'CREATE VIEW v AS SELECT 1'],
    ['a trigger', "CREATE TRIGGER t AFTER INSERT ON users BEGIN DELETE FROM settings; END"],
    ['an extra table', 'CREATE TABLE extra (x)'],
    ['an extra column', 'ALTER TABLE users ADD COLUMN extra TEXT'],
    ['a missing index', 'DROP INDEX audit_at'],
    [
      'a view named like a table (a recursive CTE that never ends)',
      'DROP TABLE schedule_runs; CREATE VIEW schedule_runs AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x AS id, \'j\' AS job, \'\' AS due, \'\' AS started_at, \'ok\' AS outcome, 0 AS exit_status, \'\' AS output FROM c',
    ],
    [
      'a generated column that fills the disk when read',
      "DROP TABLE outbox; CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, event_id INTEGER NOT NULL, at TEXT NOT NULL, level TEXT NOT NULL, name TEXT NOT NULL, text TEXT GENERATED ALWAYS AS (hex(zeroblob(50000))) VIRTUAL, held INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT); CREATE INDEX outbox_target ON outbox(target, id)",
    ],
    ['a schema version the product never wrote', 'PRAGMA user_version = 4'],
  ];
  for (const [what, sql] of hostile) {
    it(`refuses ${what}`, async () => {
      const file = storeFileWith((db) => db.exec(sql));
      await expect(checkStagedStore(file, latestVersion)).rejects.toThrow(/does not have this product's schema|not one this product writes/);
    });
  }

  it('refuses a newer schema, saying a newer product can restore it', async () => {
    const file = storeFileWith((db) => db.pragma('user_version = 99'));
    await expect(checkStagedStore(file, latestVersion)).rejects.toMatchObject({ newer: true, message: expect.stringMatching(/newer than this product's/) });
  });

  it('ends the reader when it takes longer than its bound', async () => {
    await expect(checkStagedStore(storeFileWith(() => undefined), latestVersion, 1)).rejects.toThrow(/could not be read within/);
  });
});

describe('a restore copies only rows that fit, or nothing', () => {
  /** A backup's store (migrated, with its key beside it) edited by `edit`; and a live store with a user of its own. */
  async function restoreInto(edit: (db: Database.Database) => void): Promise<{ live: Store; attempt: Promise<void> }> {
    const backup = storeFileWith(edit, (store) => {
      store.settings.set('node', { ...NODE, hostname: 'restored' } as never);
      store.users.add('ann', '2026-01-01T00:00:00.000Z');
    });
    const live = reopen(freshFile());
    live.users.add('joe', '2026-01-01T00:00:00.000Z');
    return { live, attempt: live.replaceContentsFrom(backup) };
  }

  it('takes a good backup whole', async () => {
    const { live, attempt } = await restoreInto(() => undefined);
    await attempt;
    expect(live.users.names()).toEqual(['ann']);
    expect(live.settings.get('node')?.hostname).toBe('restored');
  });

  const hostile: [string, (db: Database.Database) => void, RegExp][] = [
    ['ssh.sessionLimit 0', setRaw('ssh.sessionLimit', '0'), /settings "ssh.sessionLimit"/],
    ['a user named like a path', (db) => db.prepare("INSERT INTO users (name, must_change, created_at) VALUES ('../../../tmp/x', 1, '2026-01-01T00:00:00.000Z')").run(), /users "\.\.\/\.\.\/\.\.\/tmp\/x"/],
    ['a trigger', (db) => db.exec('CREATE TRIGGER t AFTER INSERT ON users BEGIN DELETE FROM settings; END'), /schema/],
    ['a mailbox row of another type', (db) => db.prepare("INSERT INTO mailbox (event_id, at, level, name, text, read) VALUES (1, '2026-01-01T00:00:00.000Z', 'warn', 'x', 't', 'yes')").run(), /mailbox "1": read/],
  ];
  for (const [what, edit, problem] of hostile) {
    it(`refuses ${what}, and the live store keeps its contents`, async () => {
      const { live, attempt } = await restoreInto(edit);
      await expect(attempt).rejects.toThrow(problem);
      expect(live.users.names()).toEqual(['joe']);
      expect(live.settings.has('node')).toBe(false);
    });
  }

  it('refuses to copy rows of a store not migrated to this version', async () => {
    const live = reopen(freshFile());
    await expect(live.replaceContentsFrom(storeFileWith(() => undefined, undefined, migrations.slice(0, 2)))).rejects.toThrow(/schema version 2, not this product's/);
  });

  it("refuses a sealed value whose clear text does not fit, checked with the backup's key", async () => {
    // Put in clear by the attacker; opening the backup's store (as a restore does to migrate it) seals it with the backup's key.
    const backup = storeFileWith(setRaw('network.proxy', JSON.stringify('gopher://x')));
    Store.open(backup).closeAsSingleFile();
    const db = new Database(backup, { readonly: true });
    expect((db.prepare("SELECT value FROM settings WHERE key = 'network.proxy'").get() as { value: string }).value).toMatch(/^"sealed:/);
    db.close();
    const live = reopen(freshFile());
    await expect(live.replaceContentsFrom(backup)).rejects.toThrow(/settings "network.proxy": not a http or https or socks5 URI/);
    expect(live.settings.has('network.proxy')).toBe(false);
  });
});

describe('tokens of console users', () => {
  it('are never made for a name that is not a user name, and the start goes on', async () => {
    const paths = pathsFor(tempHome('ps-tokens-'));
    const said: string[] = [];
    await issueTokens(paths, ['platform', '../../../tmp/x', 'ann'], (line) => said.push(line));
    expect(readdirSync(paths.userTokens).sort()).toEqual(['ann', 'platform']);
    expect(said.join('\n')).toMatch(/no token for the user name "\.\.\/\.\.\/\.\.\/tmp\/x": not a user name/);
  });

  it('of users a restore removed are revoked', async () => {
    const paths = pathsFor(tempHome('ps-tokens-'));
    await issueTokens(paths, ['platform', 'ann', 'bob']);
    expect(readdirSync(paths.userTokens).sort()).toEqual(['ann', 'bob', 'platform']);
    expect(revokeTokensExcept(paths, ['platform', 'root', 'ann'])).toEqual(['bob']);
    expect(readdirSync(paths.userTokens).sort()).toEqual(['ann', 'platform']);
  });
});
