// Backups end to end on file:// locations: a node is configured, backed up,
// and its home thrown away; a fresh node (new home, new daemon, same ports)
// restores the backup and must then hold the same settings, users, rights,
// weights, locations, served web certificate (real TLS handshake with
// nginx), firewall ruleset and cluster identity. Every refusal (wrong key,
// tampered byte, truncated file, another node's backup, newer schema, a
// full disk at the target) leaves the node exactly as it was.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { servedFingerprint } from '../../web/service.js';
import { freePort, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

const HTTPS = freePort();
const HTTP = freePort();
const CLUSTER = freePort();
const ports = ['--web-port', String(HTTPS), '--http-port', String(HTTP), '--cluster-port', String(CLUSTER)];
const locationDir = tempHome('ps-backups-');
const full = `/tmp/ps-full-${process.pid}`;
let original: RunningDaemon;
let restored: RunningDaemon | undefined;
let keyText = '';
let archiveName = '';

/** What must survive a restore, read through the console and the wire. */
async function observe(node: RunningDaemon) {
  const run = async (...words: string[]) => {
    const result = await node.platform(words);
    expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  return {
    system: (await run('system', 'info')).replace(/^(uptime|load|date|time).*$/gim, ''),
    users: await run('user', 'list'),
    weights: await run('web', 'weight', 'list'),
    locations: (await run('backup', 'list')).replace(/\(.*\)/g, ''),
    firewall: await run('firewall', 'show'),
    served: await servedFingerprint('127.0.0.1', HTTPS),
    clusterIdentity: new X509Certificate(readFileSync(join(node.home, 'certs', 'cluster', 'node.pem'))).fingerprint256,
    proxy: await run('network', 'proxy'),
  };
}

/** The configuration tables' rows, hashed (read-only, beside the running daemon). */
function dbDigest(home: string): string {
  const db = new Database(join(home, 'config.db'), { readonly: true });
  try {
    const rows = ['settings', 'users', 'user_rights', 'backup_locations', 'web_weights'].map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY 1`).all());
    return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
  } finally {
    db.close();
  }
}

let before: Awaited<ReturnType<typeof observe>>;

beforeAll(async () => {
  original = await startDaemon({ args: ports, home: tempHome() });
  const p = (...words: string[]) => original.platform(words);
  expect((await p('system', 'setup', '--hostname', 'web01', '--domain', 'example.test', '--role', 'webproxy,application', '--ntp', 'ntp1.example.test')).status).toBe(0);
  expect((await p('user', 'add', 'joe')).status).toBe(0);
  expect((await p('user', 'grant', 'joe', 'app')).status).toBe(0);
  expect((await p('web', 'weight', 'add', '10.9.0.5:8080', '7')).status).toBe(0);
  expect((await p('firewall', 'allow', '10.20.0.0/24', '--yes')).status).toBe(0);
  await p('firewall', 'confirm');
  expect((await p('network', 'proxy', 'http://proxy.example.test:3128')).status).toBe(0);
  expect((await p('web', 'cert', 'gen_selfsigned', '--yes')).status).toBe(0);
  expect((await p('backup', 'add', 'local', `file://${locationDir}`)).status).toBe(0);
});

afterAll(async () => {
  await original?.stop();
  await restored?.stop();
  spawnSync('umount', [full]);
  rmSync(full, { recursive: true, force: true });
});

describe('backup key', () => {
  it('is refused for a backup until the node has one', async () => {
    const result = await original.platform(['backup', 'create', 'local']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('backup key generate');
  });

  it('is generated root-only and shown exactly once', async () => {
    expect((await original.platform(['backup', 'key', 'generate'])).status).toBe(0);
    const file = join(original.home, 'etc', 'backup', 'backup.key');
    expect(execFileSync('stat', ['-c', '%a %U', file]).toString().trim()).toBe('600 root');
    const shown = await original.platform(['backup', 'key', 'show']);
    expect(shown.status).toBe(0);
    keyText = /backup key: (psbk1-[A-Za-z0-9_-]{43})/.exec(shown.stdout)![1]!;
    const again = await original.platform(['backup', 'key', 'show']);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('printed only once');
    expect(again.stdout + again.stderr).not.toContain(keyText);
    // The key never reaches the audit log.
    expect((await original.platform(['log', 'audit'])).stdout).not.toContain(keyText);
  });
});

describe('create', () => {
  it('writes one encrypted archive and its manifest, named after the node and the UTC time', async () => {
    const created = await original.platform(['backup', 'create', 'local']);
    expect(created.status, created.stderr).toBe(0);
    const files = readdirSync(locationDir).sort();
    expect(files).toHaveLength(2);
    archiveName = files[0]!;
    expect(archiveName).toMatch(/^web01-\d{8}T\d{6}Z\.psbk$/);
    expect(files[1]).toBe(`${archiveName}.manifest.json`);
    const manifest = JSON.parse(readFileSync(join(locationDir, files[1]!), 'utf8'));
    const archive = readFileSync(join(locationDir, archiveName));
    expect(manifest).toMatchObject({ node: 'web01', roles: ['webproxy', 'application'], size: archive.length, sha256: createHash('sha256').update(archive).digest('hex') });
    expect(archive.subarray(0, 8).toString()).toBe('PSBACKUP');
    // Encrypted: neither the private key nor the store's text shows through.
    expect(archive.includes(Buffer.from('PRIVATE KEY'))).toBe(false);
    expect(archive.includes(Buffer.from('SQLite format'))).toBe(false);
    before = await observe(original);
  });

  it('lists and verifies what it wrote', async () => {
    const listed = await original.platform(['backup', 'list', 'local']);
    expect(listed.stdout).toContain(archiveName);
    expect(listed.stdout).toContain('not yet');
    const verified = await original.platform(['backup', 'verify', 'local']);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`verified: ${archiveName}`);
    expect((await original.platform(['backup', 'list', 'local'])).stdout).toMatch(new RegExp(`${archiveName.replace('.', '\\.')}.*yes`));
  });

  it('refuses a full disk at the target with a clear error and leaves nothing there', async () => {
    mkdirSync(full, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
    // Leave less room than an archive needs.
    spawnSync('dd', ['if=/dev/zero', `of=${join(full, 'filler')}`, 'bs=1k', 'count=60'], { stdio: 'ignore' });
    expect((await original.platform(['backup', 'add', 'small', `file://${full}`])).status).toBe(0);
    const result = await original.platform(['backup', 'create', 'small']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no space left');
    expect(readdirSync(full)).toEqual(['filler']);
    expect(readdirSync(join(original.home, 'run')).filter((n) => n.startsWith('backup-'))).toEqual([]);
    await original.platform(['backup', 'del', 'small']);
  });
});

describe('restore on a fresh node', () => {
  it('is refused without the key, and with another key', async () => {
    await original.stop();
    restored = await startDaemon({ args: ports });
    const p = (...words: string[]) => restored!.platform(words);
    expect((await p('system', 'setup', '--hostname', 'web01', '--role', 'webproxy')).status).toBe(0);
    expect((await p('backup', 'add', 'local', `file://${locationDir}`)).status).toBe(0);
    const noKey = await p('backup', 'restore', 'local', '--yes');
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('backup key');
    expect((await p('backup', 'key', 'generate')).status).toBe(0);
    const digest = dbDigest(restored!.home);
    const wrong = await p('backup', 'restore', 'local', '--yes');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('another backup key');
    expect(dbDigest(restored!.home)).toBe(digest);
  });

  it('asks for confirmation', async () => {
    expect((await restored!.platform(['backup', 'key', 'import', keyText, '--yes'])).status).toBe(0);
    const unconfirmed = await restored!.platform(['backup', 'restore', 'local']);
    expect(unconfirmed.status).toBe(1);
    expect(unconfirmed.stderr).toContain('add --yes');
  });

  it('restores settings, users, rights, weights, locations, the served certificate, the firewall and the cluster identity', async () => {
    expect(await servedFingerprint('127.0.0.1', HTTPS)).not.toBe(before.served);
    const result = await restored!.platform(['backup', 'restore', 'local', '--yes']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`restored: ${archiveName}`);
    const after = await observe(restored!);
    expect(after).toEqual(before);
    expect((await restored!.platform(['user', 'list'])).stdout).toContain('joe');
  });
});

describe('refusals leave the node unchanged', () => {
  const copyTo = (dir: string, mutate: (archive: Buffer) => Buffer, fixManifest = true) => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const archive = mutate(readFileSync(join(locationDir, archiveName)));
    const manifest = JSON.parse(readFileSync(join(locationDir, `${archiveName}.manifest.json`), 'utf8'));
    if (fixManifest) Object.assign(manifest, { size: archive.length, sha256: createHash('sha256').update(archive).digest('hex') });
    writeFileSync(join(dir, archiveName), archive);
    writeFileSync(join(dir, `${archiveName}.manifest.json`), JSON.stringify(manifest));
  };

  async function refused(name: string, dir: string, expected: string, extra: string[] = []) {
    await restored!.platform(['backup', 'del', name]);
    expect((await restored!.platform(['backup', 'add', name, `file://${dir}`])).status).toBe(0);
    const digest = dbDigest(restored!.home);
    const cert = readFileSync(join(restored!.home, 'certs', 'web', 'fullchain.pem'));
    const result = await restored!.platform(['backup', 'restore', name, '--yes', ...extra]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(expected);
    expect(dbDigest(restored!.home)).toBe(digest);
    expect(readFileSync(join(restored!.home, 'certs', 'web', 'fullchain.pem'))).toEqual(cert);
    expect(readdirSync(join(restored!.home, 'run')).filter((n) => n.startsWith('backup-'))).toEqual([]);
  }

  it('a tampered byte (manifest rewritten to match): authentication fails', async () => {
    const dir = join(locationDir, '..', `ps-tampered-${process.pid}`);
    copyTo(dir, (a) => {
      const b = Buffer.from(a);
      b[Math.floor(b.length / 2)]! ^= 0x01;
      return b;
    });
    await refused('tampered', dir, 'altered');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a tampered byte against the manifest: the checksum fails first', async () => {
    const dir = join(locationDir, '..', `ps-tampered2-${process.pid}`);
    copyTo(dir, (a) => {
      const b = Buffer.from(a);
      b[100]! ^= 0x80;
      return b;
    }, false);
    await refused('tampered2', dir, 'does not match its manifest');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a truncated archive', async () => {
    const dir = join(locationDir, '..', `ps-truncated-${process.pid}`);
    copyTo(dir, (a) => a.subarray(0, a.length - 40));
    await refused('truncated', dir, 'truncated');
    truncateSync(join(dir, archiveName), 30);
    rmSync(dir, { recursive: true, force: true });
  });

  it("another node's backup without --from", async () => {
    expect((await restored!.platform(['system', 'setup', '--hostname', 'web02'])).status).toBe(0);
    await refused('local', locationDir, 'add --from web01');
    expect((await restored!.platform(['system', 'setup', '--hostname', 'web01'])).status).toBe(0);
  });

  it('a backup of a newer schema', async () => {
    const dir = join(locationDir, '..', `ps-newer-${process.pid}`);
    copyTo(dir, (a) => a);
    const file = join(dir, `${archiveName}.manifest.json`);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), schemaVersion: 999 }));
    await refused('newer', dir, 'newer than this product');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('clean and del', () => {
  it('keeps the newest n backups of each node, and del forgets the location but not the files', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    expect((await restored!.platform(['backup', 'create', 'local'])).status).toBe(0);
    expect(readdirSync(locationDir).filter((n) => n.endsWith('.psbk'))).toHaveLength(2);
    const cleaned = await restored!.platform(['backup', 'clean', 'local', 'keep', '1', '--yes']);
    expect(cleaned.status, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain(archiveName);
    expect(readdirSync(locationDir).filter((n) => n.endsWith('.psbk'))).toHaveLength(1);
    expect((await restored!.platform(['backup', 'del', 'local'])).status).toBe(0);
    expect(readdirSync(locationDir)).toHaveLength(2);
    expect(existsSync(locationDir)).toBe(true);
  });
});
