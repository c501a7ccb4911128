// A restore and a verify read archives from a backup location, which is
// hostile: they must always return, stay within the room the data folder
// has, refuse an archive that would leave the node without a tree it has,
// run one at a time, and change the trees and the store together or not at
// all, even when platformd is killed half-way. The hostile archives are
// built here from the documented format (backup/entries.ts, gzip,
// backup/crypto-stream.ts), never with the product's writer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { NoRoomError, readEntries, under } from '../../backup/entries.js';
import { PLATFORM, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { until } from '../support/until.js';

// --- the hostile-archive builder -------------------------------------------

const CHUNK = 65536;

/** One entry's header: u32 big-endian length, then the JSON header. */
function entryHeader(value: object): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json]);
}
const entry = (name: string, content: Buffer, mode = 0o600) => Buffer.concat([entryHeader({ name, size: content.length, mode }), content]);
const endMarker = (count: number) => entryHeader({ end: true, count });

/** The archive's encryption: the 56-byte header, then AES-256-GCM records of 64 KiB under an HKDF-derived key. */
function encrypt(key: Buffer, plain: Buffer): Buffer {
  const header = Buffer.alloc(56);
  header.write('PSBACKUP', 0, 'latin1');
  header[8] = 1;
  header.writeUInt32BE(CHUNK, 12);
  createHash('sha256').update('platform-shell backup key id').update(key).digest().copy(header, 16, 0, 8);
  const salt = randomBytes(32);
  salt.copy(header, 24);
  const derived = Buffer.from(hkdfSync('sha256', key, salt, 'platform-shell backup v1', 32));
  const records: Buffer[] = [header];
  const full = Math.floor(plain.length / CHUNK);
  for (let i = 0; i <= full; i++) {
    const last = i === full;
    const nonce = Buffer.alloc(12);
    nonce.writeBigUInt64BE(BigInt(i), 3);
    nonce[11] = last ? 1 : 0;
    const cipher = createCipheriv('aes-256-gcm', derived, nonce);
    cipher.setAAD(header);
    records.push(cipher.update(plain.subarray(i * CHUNK, last ? plain.length : (i + 1) * CHUNK)), cipher.final(), cipher.getAuthTag());
  }
  return Buffer.concat(records);
}

interface Built {
  archive: string;
  bytes: Buffer;
}

/** Writes an archive (gzip members of `plainParts`, encrypted) and its manifest into `dir`, as a location holds them. */
function writeBackup(dir: string, key: Buffer, node: { hostname: string; schemaVersion: number }, gzipParts: Buffer[]): Built {
  const archive = `${node.hostname}-20260101T000000Z.psbk`;
  const bytes = encrypt(key, Buffer.concat(gzipParts));
  const manifest = { ...innerManifest(archive, key, node), size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, archive), bytes);
  writeFileSync(join(dir, `${archive}.manifest.json`), JSON.stringify(manifest));
  return { archive, bytes };
}

function innerManifest(archive: string, key: Buffer, node: { hostname: string; schemaVersion: number }) {
  const keyId = createHash('sha256').update('platform-shell backup key id').update(key).digest().subarray(0, 8).toString('hex');
  return { format: 'platform-shell-backup', version: 1, archive, node: node.hostname, roles: ['webproxy'], productVersion: '1.0.0', schemaVersion: node.schemaVersion, createdAt: '2026-01-01T00:00:00.000Z', keyId };
}

/** The bomb: the manifest, then one entry declaring 4 GiB of zeros, really there: 4096 gzip members of 1 MiB of zeros (4 MB). */
function bombParts(key: Buffer, node: { hostname: string; schemaVersion: number }): Buffer[] {
  const archive = `${node.hostname}-20260101T000000Z.psbk`;
  const manifest = Buffer.from(JSON.stringify(innerManifest(archive, key, node)));
  const zeros = gzipSync(Buffer.alloc(1024 * 1024));
  const members = [gzipSync(Buffer.concat([entry('manifest.json', manifest), entryHeader({ name: 'store/config.db', size: 4 * 1024 ** 3, mode: 0o600 })]))];
  for (let i = 0; i < 4096; i++) members.push(zeros);
  members.push(gzipSync(endMarker(2)));
  return members;
}

// --- the node under test ------------------------------------------------------

const nodeKey = (home: string) => Buffer.from(readFileSync(join(home, 'etc', 'backup', 'backup.key'), 'utf8').trim().slice('psbk1-'.length), 'base64url');
const schemaVersion = (home: string) => {
  const db = new Database(join(home, 'config.db'), { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};
const workFolders = (home: string) => readdirSync(join(home, 'run')).filter((n) => n.startsWith('backup-') || n.startsWith('restore-'));
const webCert = (home: string) => readFileSync(join(home, 'certs', 'web', 'fullchain.pem'), 'utf8');
const used = (dir: string) => Number(execFileSync('df', ['--output=used', '-B1', dir]).toString().split('\n')[1]);

async function ok(node: RunningDaemon, ...words: string[]) {
  const result = await node.platform(words);
  expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

const mounts: string[] = [];
function smallFolder(size: string): string {
  const dir = `/tmp/ps-small-${process.pid}-${mounts.length}`;
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of mounts) {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('an archive that declares more than the data folder can take', () => {
  let node: RunningDaemon;
  let small: string;
  const locations = tempHome('ps-hostile-');

  beforeAll(async () => {
    small = smallFolder('64m');
    node = await startDaemon({ home: join(small, 'home') });
    await ok(node, 'system', 'setup', '--hostname', 'web01', '--role', 'webproxy');
    await ok(node, 'backup', 'key', 'generate');
    writeBackup(join(locations, 'bomb'), nodeKey(node.home), { hostname: 'web01', schemaVersion: schemaVersion(node.home) }, bombParts(nodeKey(node.home), { hostname: 'web01', schemaVersion: schemaVersion(node.home) }));
    await ok(node, 'backup', 'add', 'bomb', `file://${join(locations, 'bomb')}`);
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('verify returns with a clear message, and leaves nothing in the data folder', async () => {
    const before = used(small);
    const result = await node.platform(['backup', 'verify', 'bomb']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the data folder has no room for this backup');
    // Refused as the entry was declared, before a byte of it was written.
    expect(result.stderr).toContain('declare');
    expect(result.stderr).toContain('store/config.db');
    expect(workFolders(node.home)).toEqual([]);
    expect(used(small)).toBeLessThan(before + 1024 * 1024);
  });

  it('restore returns with the same message, and the node is unchanged', async () => {
    const cert = webCert(node.home);
    const result = await node.platform(['backup', 'restore', 'bomb', '--yes']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the data folder has no room for this backup');
    expect(webCert(node.home)).toBe(cert);
    expect(workFolders(node.home)).toEqual([]);
    // The node still works and writes.
    await ok(node, 'user', 'add', 'after-bomb');
  });

  it('an archive lacking files/certs is refused, saying so, and the node keeps its identity', async () => {
    const key = nodeKey(node.home);
    const info = { hostname: 'web01', schemaVersion: schemaVersion(node.home) };
    const copy = join(locations, 'config.db');
    const db = new Database(join(node.home, 'config.db'), { readonly: true });
    await db.backup(copy);
    db.close();
    const archive = `web01-20260101T000000Z.psbk`;
    const plain = Buffer.concat([
      entry('manifest.json', Buffer.from(JSON.stringify(innerManifest(archive, key, info)))),
      entry('store/config.db', readFileSync(copy)),
      entry('store/store.key', readFileSync(join(node.home, 'store.key'))),
      endMarker(3),
    ]);
    writeBackup(join(locations, 'nocerts'), key, info, [gzipSync(plain)]);
    await ok(node, 'backup', 'add', 'nocerts', `file://${join(locations, 'nocerts')}`);
    const identity = readFileSync(join(node.home, 'certs', 'cluster', 'node.pem'), 'utf8');
    const users = await ok(node, 'user', 'list');
    const result = await node.platform(['backup', 'restore', 'nocerts', '--yes']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('lacks files/certs');
    expect(result.stderr).toContain('nothing was changed');
    expect(readFileSync(join(node.home, 'certs', 'cluster', 'node.pem'), 'utf8')).toBe(identity);
    expect(await ok(node, 'user', 'list')).toBe(users);
    expect(workFolders(node.home)).toEqual([]);
  });

  it("a store that fails at its commit (secrets sealed with another key): the trees already moved are put back", async () => {
    await ok(node, 'network', 'proxy', 'http://proxy.example.test:3128');
    const key = nodeKey(node.home);
    const info = { hostname: 'web01', schemaVersion: schemaVersion(node.home) };
    const copy = join(locations, 'config2.db');
    const db = new Database(join(node.home, 'config.db'), { readonly: true });
    await db.backup(copy);
    db.close();
    // Every tree the node has, the web certificate changed: a restore that went through would show it.
    const trees: Buffer[] = [];
    const walk = (dir: string, name: string) => {
      for (const item of readdirSync(dir, { withFileTypes: true })) {
        if (item.isDirectory()) walk(join(dir, item.name), `${name}/${item.name}`);
        else if (item.isFile()) trees.push(entry(`${name}/${item.name}`, `${name}/${item.name}` === 'files/certs/web/fullchain.pem' ? Buffer.from('RESTORED') : readFileSync(join(dir, item.name))));
      }
    };
    for (const tree of ['certs', 'etc/ssh', 'etc/authorized_keys']) if (existsSync(join(node.home, tree))) walk(join(node.home, tree), `files/${tree}`);
    const archive = `web01-20260101T000000Z.psbk`;
    const plain = Buffer.concat([
      entry('manifest.json', Buffer.from(JSON.stringify(innerManifest(archive, key, info)))),
      entry('store/config.db', readFileSync(copy)),
      entry('store/store.key', randomBytes(32)),
      ...trees,
      endMarker(3 + trees.length),
    ]);
    writeBackup(join(locations, 'wrongkey'), key, info, [gzipSync(plain)]);
    await ok(node, 'backup', 'add', 'wrongkey', `file://${join(locations, 'wrongkey')}`);
    const cert = webCert(node.home);
    const users = await ok(node, 'user', 'list');
    const result = await node.platform(['backup', 'restore', 'wrongkey', '--yes']);
    expect(result.status).toBe(1);
    // It got as far as the swap (the trees moved), and failed at the store's commit.
    expect(result.stderr).toContain('putting the backup in place');
    expect(result.stderr).toContain('nothing was changed');
    expect(webCert(node.home)).toBe(cert);
    expect(await ok(node, 'user', 'list')).toBe(users);
    expect(await ok(node, 'network', 'proxy')).toContain('proxy.example.test');
    expect(workFolders(node.home)).toEqual([]);
    expect(readdirSync(join(node.home, 'run')).filter((n) => n.startsWith('restore-'))).toEqual([]);
  });

  it('a write that runs out of room ends the unpack with the clear error instead of waiting for ever', async () => {
    const tiny = smallFolder('1m');
    async function* content() {
      yield entryHeader({ name: 'ok/big', size: 16 * 1024 * 1024, mode: 0o600 });
      for (let i = 0; i < 256; i++) yield Buffer.alloc(65536);
      yield endMarker(1);
    }
    const failure = await readEntries(Readable.from(content()), { maxBytes: 1 << 30, place: (name) => under(tiny, name) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(NoRoomError);
    expect((failure as Error).message).toContain('no space left');
  });
});

describe('one restore or verify at a time, and cancelling', () => {
  let node: RunningDaemon;
  const location = tempHome('ps-once-');

  beforeAll(async () => {
    node = await startDaemon({ env: withoutCI({ PLATFORM_TEST_HOOKS: 'restore-pause:unpacked' }) });
    await ok(node, 'system', 'setup', '--hostname', 'web01', '--role', 'webproxy');
    await ok(node, 'backup', 'key', 'generate');
    await ok(node, 'backup', 'add', 'local', `file://${location}`);
    await ok(node, 'backup', 'create', 'local');
  });
  afterAll(async () => {
    await node?.stop();
  });

  const paused = () => join(node.home, 'run', 'test-paused-unpacked');

  it('a second restore or verify while one runs is refused, and the first completes', async () => {
    const first = node.platform(['backup', 'restore', 'local', '--yes']);
    await until('the first restore to pause', () => existsSync(paused()));
    for (const words of [['backup', 'restore', 'local', '--yes'], ['backup', 'verify', 'local']]) {
      const second = await node.platform(words);
      expect(second.status, words.join(' ')).toBe(1);
      expect(second.stderr).toContain('a backup restore is already running on this node');
    }
    rmSync(paused());
    const done = await first;
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toContain('restored:');
    expect(workFolders(node.home)).toEqual([]);
  });

  it('a restore whose client goes away is cancelled before the node changes, its work folder removed', async () => {
    await ok(node, 'user', 'add', 'kept');
    const client = spawn(process.execPath, [PLATFORM, '--home', node.home, 'backup', 'restore', 'local', '--yes'], { env: withoutCI(), stdio: 'ignore' });
    await until('the restore to pause', () => existsSync(paused()));
    expect(workFolders(node.home).length).toBe(1);
    client.kill('SIGKILL');
    await new Promise((r) => client.once('exit', r));
    rmSync(paused());
    await until('the work folder to go', () => workFolders(node.home).length === 0);
    expect(await ok(node, 'user', 'list')).toContain('kept');
    // And the node takes the next one (which pauses too).
    const verifying = node.platform(['backup', 'verify', 'local']);
    await until('the verify to pause', () => existsSync(paused()));
    rmSync(paused());
    const verified = await verifying;
    expect(verified.status, verified.stderr).toBe(0);
  });
});

describe("the administrator's first day (issue 22)", () => {
  let node: RunningDaemon;
  const location = tempHome('ps-firstday-');
  let archive = '';

  beforeAll(async () => {
    node = await startDaemon();
    await ok(node, 'system', 'setup', '--hostname', 'web01', '--role', 'webproxy');
    await ok(node, 'backup', 'key', 'generate');
    await ok(node, 'backup', 'add', 'local', `file://${location}`);
    await ok(node, 'backup', 'create', 'local');
    archive = readdirSync(location).find((n) => n.endsWith('.psbk'))!;
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('a file:// location whose folder does not exist is refused', async () => {
    const result = await node.platform(['backup', 'add', 'nowhere', `file:///nonexistent-${process.pid}`]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('does not exist');
    expect(await ok(node, 'backup', 'list')).not.toContain('nowhere');
  });

  it("restore's question names the backup it would restore", async () => {
    const result = await node.platform(['backup', 'restore', 'local']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^Replace this node's configuration, certificates and keys with ${archive.replace('.', '\\.')} \\(web01, `));
    expect(result.stderr).toContain('add --yes');
  });

  it("Tab completes the archives of the location typed before", async () => {
    for (const verb of ['restore', 'verify']) {
      const tab = await node.platform(['--complete', '--', 'backup', verb, 'local', '']);
      expect(tab.stdout.trim().split('\n'), verb).toEqual([archive]);
    }
  });
});

describe('a restore killed at any step leaves the old node or the new one, recovered at the next start', () => {
  const location = tempHome('ps-crash-');
  const home = tempHome('ps-crash-home-');
  let node: RunningDaemon;
  let backedUp = '';
  let changed = '';
  const hooked = (step: string) => startDaemon({ home, env: withoutCI({ PLATFORM_TEST_HOOKS: `restore-pause:${step}` }) });

  beforeAll(async () => {
    node = await hooked('none');
    await ok(node, 'system', 'setup', '--hostname', 'web01', '--role', 'webproxy');
    await ok(node, 'backup', 'key', 'generate');
    await ok(node, 'backup', 'add', 'local', `file://${location}`);
    await ok(node, 'backup', 'create', 'local');
    backedUp = webCert(home);
    // After the backup: another certificate and another user.
    await ok(node, 'web', 'cert', 'gen_selfsigned', '--yes');
    await ok(node, 'user', 'add', 'bob');
    changed = webCert(home);
    expect(changed).not.toBe(backedUp);
  });
  afterAll(async () => {
    await node?.stop();
  });

  async function killAt(step: string) {
    await node.stop();
    node = await hooked(step);
    void node.platform(['backup', 'restore', 'local', '--yes']);
    await until(`the restore to reach ${step}`, () => existsSync(join(home, 'run', `test-paused-${step}`)));
    node.process.kill('SIGKILL');
    await node.stop();
    rmSync(join(home, 'run', `test-paused-${step}`), { force: true });
    node = await hooked('none');
  }

  for (const step of ['journal', 'first-tree', 'trees']) {
    it(`killed at "${step}" (before the store's commit): the old node, its files put back`, async () => {
      await killAt(step);
      expect(webCert(home)).toBe(changed);
      expect(await ok(node, 'user', 'list')).toContain('bob');
      expect(workFolders(home)).toEqual([]);
      expect(existsSync(join(home, 'run', 'restore-journal.json'))).toBe(false);
      expect(node.output()).toContain('interrupted before the store changed');
    });
  }

  it('killed after the commit: the new node, the old files removed', async () => {
    await killAt('committed');
    expect(webCert(home)).toBe(backedUp);
    expect(await ok(node, 'user', 'list')).not.toContain('bob');
    expect(workFolders(home)).toEqual([]);
    expect(existsSync(join(home, 'run', 'restore-journal.json'))).toBe(false);
    expect(node.output()).toContain('had committed');
  });

  it('work folders left by a killed daemon are removed at start', async () => {
    await node.stop();
    const stale = join(home, 'run', 'backup-verify-1-2');
    mkdirSync(join(stale, 'staging', 'store'), { recursive: true });
    writeFileSync(join(stale, 'staging', 'store', 'store.key'), 'secret');
    node = await hooked('none');
    expect(existsSync(stale)).toBe(false);
  });

  it('a journal naming a folder a backup does not hold is not acted on', async () => {
    await node.stop();
    writeFileSync(join(home, 'media', 'upload.pem'), 'kept');
    const forged = { id: '00000000-0000-4000-8000-000000000000', archive: 'x', trees: [{ home: 'media', hadLive: false }] };
    writeFileSync(join(home, 'run', 'restore-journal.json'), JSON.stringify(forged));
    node = await hooked('none');
    expect(readFileSync(join(home, 'media', 'upload.pem'), 'utf8')).toBe('kept');
    expect(node.output()).toContain('cannot be read');
    rmSync(join(home, 'run', 'restore-journal.json'));
  });
});
