// Secrets at rest and in messages. config.db, its WAL and SHM are 0600 and
// hold no location password, SNMP community or proxy password in clear (the
// bytes of every file are searched); rows an older version kept in clear are
// sealed at start; mistyped URIs never echo their secret, neither in the
// error nor in the audit table.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Sealer, SEALED_PREFIX } from '../../store/secrets.js';
import { redactSecrets } from '../../net/uri.js';
import { startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

const PASSWORD = 'Loc-Pw-7f3a9';
const COMMUNITY = 'Comm-9b2e4';
const PROXY_PASSWORD = 'Prox-Pw-5c1d8';
const OLD_PASSWORD = 'Old-Clear-3e7';

/** Every file of the store, as bytes. */
const storeFiles = (home: string) => readdirSync(home).filter((f) => f.startsWith('config.db')).map((f) => join(home, f));
const holds = (home: string, secret: string) => storeFiles(home).filter((f) => readFileSync(f).includes(Buffer.from(secret)));

describe('the sealed format', () => {
  it('is version 1, a 12-byte nonce, a 16-byte tag and the ciphertext; tampering is detected', () => {
    const sealer = Sealer.ephemeral();
    const sealed = sealer.seal('ftp://u:pw@h');
    expect(sealed.startsWith(SEALED_PREFIX)).toBe(true);
    const bytes = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
    expect(bytes[0]).toBe(1);
    expect(bytes.length).toBe(1 + 12 + 16 + 'ftp://u:pw@h'.length);
    expect(sealer.unseal(sealed)).toBe('ftp://u:pw@h');
    expect(sealer.seal('same')).not.toBe(sealer.seal('same')); // a fresh nonce every time
    bytes[bytes.length - 1]! ^= 1;
    expect(() => sealer.unseal(SEALED_PREFIX + bytes.toString('base64'))).toThrow(/does not open/);
    expect(() => Sealer.ephemeral().unseal(sealed)).toThrow(/does not open/);
  });
});

describe('secrets in a running node', () => {
  let node: RunningDaemon;
  const home = tempHome('ps-secrets-');
  beforeAll(async () => {
    node = await startDaemon({ home });
  });
  afterAll(async () => {
    await node.stop({ keepHome: true });
  });

  it('keeps config.db, -wal and -shm at 0600 and store.key at 0400', async () => {
    expect((await node.platform(['backup', 'add', 'loc', `sftp://dan:${PASSWORD}@10.0.0.1/backups`])).status).toBe(0);
    for (const file of storeFiles(home)) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    expect(storeFiles(home).map((f) => f.slice(home.length + 1)).sort()).toEqual(['config.db', 'config.db-shm', 'config.db-wal']);
    expect(statSync(join(home, 'store.key')).mode & 0o777).toBe(0o400);
  });

  it('holds no location password, SNMP community or proxy password in clear in any store file', async () => {
    expect((await node.platform(['notify', 'add', 'error', `snmp://${COMMUNITY}@10.0.0.2`])).status).toBe(0);
    expect((await node.platform(['network', 'proxy', `http://px:${PROXY_PASSWORD}@10.0.0.3:3128`])).status).toBe(0);
    for (const secret of [PASSWORD, COMMUNITY, PROXY_PASSWORD]) expect(holds(home, secret), secret).toEqual([]);
    // ...and still uses them: the listing shows them redacted, a second add is not duplicated.
    expect((await node.platform(['backup', 'list'])).stdout).toContain('sftp://dan:***@10.0.0.1/backups');
    expect((await node.platform(['notify', 'add', 'error', `snmp://${COMMUNITY}@10.0.0.2`])).status).toBe(0);
    const listed = JSON.parse((await node.platform(['notify', 'list', '--json'])).stdout);
    expect(listed.levels.error).toEqual(['snmp://***@10.0.0.2']);
    expect((await node.platform(['notify', 'del', 'error', `snmp://${COMMUNITY}@10.0.0.2`])).status).toBe(0);
  });

  it('seals at start what an older version kept in clear, leaving no clear copy in the files', async () => {
    await node.stop({ keepHome: true });
    const db = new Database(join(home, 'config.db'));
    db.prepare('INSERT INTO backup_locations (name, uri) VALUES (?, ?)').run('old', `ftp://ann:${OLD_PASSWORD}@10.0.0.4/b`);
    db.close();
    expect(holds(home, OLD_PASSWORD).length).toBeGreaterThan(0);
    node = await startDaemon({ home });
    expect(holds(home, OLD_PASSWORD)).toEqual([]);
    expect((await node.platform(['backup', 'list'])).stdout).toContain('ftp://ann:***@10.0.0.4/b');
  });

  it('never echoes the secret of a mistyped URI, in the error or in the audit table', async () => {
    const attempts: [string, string][] = [
      ['ftp://u:pwZZsecret%ZZ@h', 'pwZZsecret'],
      ['snmp://snmpsecret%@h', 'snmpsecret'],
      ['scp://u:scpsecret@h:/p', 'scpsecret'],
      ['sftp://u:slash/secret@h/p', 'slash/secret'],
      ['ftp://u:at@secret@h:99999', 'at@secret'],
    ];
    for (const [uri, secret] of attempts) {
      const result = await node.platform(['backup', 'add', 'typo', uri]);
      expect(result.status, uri).not.toBe(0);
      expect(result.stdout + result.stderr, uri).not.toContain(secret.split('/')[1] ?? secret);
      expect(result.stdout + result.stderr, uri).not.toContain(secret);
    }
    const audit = (await node.platform(['log', 'audit', '--json'])).stdout;
    for (const [, secret] of attempts) expect(audit).not.toContain(secret);
    for (const [, secret] of attempts) expect(holds(home, secret), secret).toEqual([]);
    const log = join(home, 'logs', 'platformd.log');
    if (existsSync(log)) for (const [, secret] of attempts) expect(readFileSync(log, 'utf8')).not.toContain(secret);
  });
});

describe('redactSecrets', () => {
  it('hides the secrets of words that do not parse', () => {
    expect(redactSecrets('ftp://u:pw%ZZ@h', { word: true })).toBe('ftp://u:***@h');
    expect(redactSecrets('snmp://secret%@h', { word: true })).toBe('snmp://***@h');
    expect(redactSecrets('scp://u:pw@h:/p', { word: true })).toBe('scp://u:***@h:/p');
    expect(redactSecrets('ftp://u:p w@h', { word: true })).toBe('ftp://u:***@h');
    expect(redactSecrets('failed: sftp://u:pw@h/x and --password=hunter2 done')).toBe('failed: sftp://u:***@h/x and --password=*** done');
    expect(redactSecrets('mailto:ops@example.com')).toBe('mailto:ops@example.com');
  });
});
