// What a backup location hands back is hostile: archives, manifests and file
// names. Each parser is fed what an attacker (or a broken disk) could put
// there, and must refuse it with a clear reason, writing nothing outside
// its staging folder.

import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiveError, CHUNK_BYTES, HEADER_BYTES, decryptStream, encryptStream } from '../../backup/crypto-stream.js';
import { readEntries, under, writeEntries, isSafeEntryName } from '../../backup/entries.js';
import { ManifestError, parseBackupName, parseManifest, backupName } from '../../backup/manifest.js';
import { fileTransport } from '../../backup/transports/file.js';
import { parseKeyText, keyText } from '../../backup/key.js';

const key = randomBytes(32);

async function encrypt(plain: Buffer, k = key): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([plain]), encryptStream(k), async function* (source) {
    for await (const chunk of source) out.push(chunk as Buffer);
  });
  return Buffer.concat(out);
}

async function decrypt(cipher: Buffer, k = key): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([cipher]), decryptStream(k), async function* (source) {
    for await (const chunk of source) out.push(chunk as Buffer);
  });
  return Buffer.concat(out);
}

const reason = async (work: Promise<unknown>) => {
  try {
    await work;
  } catch (error) {
    return error instanceof ArchiveError ? error.reason : `other: ${(error as Error).message}`;
  }
  return 'accepted';
};

describe('the encrypted stream', () => {
  const plain = randomBytes(CHUNK_BYTES * 2 + 123);

  it('round-trips, including an exact multiple of the chunk size and nothing at all', async () => {
    expect((await decrypt(await encrypt(plain))).equals(plain)).toBe(true);
    const exact = randomBytes(CHUNK_BYTES * 2);
    expect((await decrypt(await encrypt(exact))).equals(exact)).toBe(true);
    expect((await decrypt(await encrypt(Buffer.alloc(0)))).length).toBe(0);
  });

  it('refuses another key before decrypting anything', async () => {
    expect(await reason(decrypt(await encrypt(plain), randomBytes(32)))).toBe('wrong-key');
  });

  it('refuses a flipped byte anywhere: header, salt, any record, any tag', async () => {
    const cipher = await encrypt(plain);
    for (const at of [20, 30, HEADER_BYTES + 5, HEADER_BYTES + CHUNK_BYTES + 20, cipher.length - 1]) {
      const bad = Buffer.from(cipher);
      bad[at]! ^= 0x40;
      expect(await reason(decrypt(bad)), `byte ${at}`).not.toBe('accepted');
    }
  });

  it('refuses truncation, at a record boundary too, and reordered records', async () => {
    const cipher = await encrypt(plain);
    expect(await reason(decrypt(cipher.subarray(0, cipher.length - 1)))).toBe('truncated');
    expect(await reason(decrypt(cipher.subarray(0, HEADER_BYTES + CHUNK_BYTES + 16)))).toBe('truncated');
    expect(await reason(decrypt(cipher.subarray(0, 20)))).toBe('truncated');
    const record = CHUNK_BYTES + 16;
    const swapped = Buffer.concat([cipher.subarray(0, HEADER_BYTES), cipher.subarray(HEADER_BYTES + record, HEADER_BYTES + 2 * record), cipher.subarray(HEADER_BYTES, HEADER_BYTES + record), cipher.subarray(HEADER_BYTES + 2 * record)]);
    expect(await reason(decrypt(swapped))).toBe('tampered');
  });

  it('says what a file that is not an archive is', async () => {
    expect(await reason(decrypt(Buffer.from('GIF89a'.repeat(20))))).toBe('not-an-archive');
    const newer = await encrypt(plain);
    newer[8] = 9;
    expect(await reason(decrypt(newer))).toBe('unsupported-version');
  });
});

describe('entries inside an archive', () => {
  const frame = (header: object, content = Buffer.alloc(0)) => {
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(json.length);
    return Buffer.concat([length, json, content]);
  };
  const made: string[] = [];
  const staging = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ps-entries-'));
    made.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  const read = (bytes: Buffer, dir: string, maxBytes = 1 << 20) => readEntries(Readable.from([bytes]), { maxBytes, place: (name) => (name.startsWith('ok/') ? under(dir, name) : undefined) });

  it('unpacks what writeEntries wrote', async () => {
    const chunks: Buffer[] = [];
    for await (const c of writeEntries([{ name: 'ok/a/b.txt', mode: 0o644, size: 3, content: () => [Buffer.from('abc')] }])) chunks.push(c);
    const dir = staging();
    const entries = await read(Buffer.concat(chunks), dir);
    expect(entries.map((e) => e.name)).toEqual(['ok/a/b.txt']);
    rmSync(dir, { recursive: true });
  });

  it('refuses names that climb out, absolute names, odd characters and unexpected names', async () => {
    for (const name of ['../etc/passwd', 'ok/../../x', '/etc/shadow', 'ok/./x', 'ok//x', 'ok/a\u0000b', 'ok/.hidden/../x', 'other/file']) {
      const dir = staging();
      const bytes = Buffer.concat([frame({ name, size: 1, mode: 0o644 }, Buffer.from('x')), frame({ end: true, count: 1 })]);
      expect(await reason(read(bytes, dir)), name).toBe('malformed');
      expect(readdirSync(dir)).toEqual([]);
      rmSync(dir, { recursive: true });
    }
    expect(isSafeEntryName('files/certs/web/privkey.pem')).toBe(true);
  });

  it('refuses oversized headers, content past the bound, duplicates, a wrong count and trailing bytes', async () => {
    const dir = staging();
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(10_000_000);
    expect(await reason(read(huge, dir))).toBe('malformed');
    expect(await reason(read(Buffer.concat([frame({ name: 'ok/big', size: 2000, mode: 0o600 }, Buffer.alloc(2000)), frame({ end: true, count: 1 })]), staging(), 1000))).toBe('too-large');
    const twice = Buffer.concat([frame({ name: 'ok/x', size: 0, mode: 0o600 }), frame({ name: 'ok/x', size: 0, mode: 0o600 }), frame({ end: true, count: 2 })]);
    expect(await reason(read(twice, staging()))).toBe('malformed');
    expect(await reason(read(Buffer.concat([frame({ name: 'ok/y', size: 0, mode: 0o600 }), frame({ end: true, count: 5 })]), staging()))).toBe('malformed');
    expect(await reason(read(Buffer.concat([frame({ end: true, count: 0 }), Buffer.from('junk')]), staging()))).toBe('malformed');
    expect(await reason(read(frame({ name: 'ok/z', size: 10, mode: 0o600 }, Buffer.from('abc')), staging()))).toBe('truncated');
    expect(await reason(read(frame({ name: 'ok/z', size: -1, mode: 0o600 }), staging()))).toBe('malformed');
    expect(await reason(read(frame({ name: 'ok/z', size: 1, mode: 0o4777 }), staging()))).toBe('malformed');
    rmSync(dir, { recursive: true });
  });

  it('never writes through a link planted in the staging folder', async () => {
    const dir = staging();
    mkdirSync(join(dir, 'ok'));
    symlinkSync('/tmp/ps-should-not-exist', join(dir, 'ok', 'link'));
    const bytes = Buffer.concat([frame({ name: 'ok/link', size: 1, mode: 0o644 }, Buffer.from('x')), frame({ end: true, count: 1 })]);
    expect(await reason(read(bytes, dir))).not.toBe('accepted');
    expect(existsSync('/tmp/ps-should-not-exist')).toBe(false);
    rmSync(dir, { recursive: true });
  });
});

describe('manifests and names from a location', () => {
  const good = {
    format: 'platform-shell-backup',
    version: 1,
    archive: 'web01-20261129T101500Z.psbk',
    node: 'web01',
    roles: ['webproxy'],
    productVersion: '0.1.0',
    schemaVersion: 3,
    createdAt: '2026-11-29T10:15:00.000Z',
    keyId: '0123456789abcdef',
    size: 10,
    sha256: 'a'.repeat(64),
  };
  const refuse = (value: unknown) => expect(() => parseManifest(typeof value === 'string' ? value : JSON.stringify(value), true)).toThrow(ManifestError);

  it('accepts a well-formed manifest', () => {
    expect(parseManifest(JSON.stringify(good), true).node).toBe('web01');
  });

  it('refuses every malformed field, unknown fields, non-JSON and oversized input', () => {
    refuse('not json');
    refuse([]);
    refuse({ ...good, format: 'tar' });
    refuse({ ...good, version: 2 });
    refuse({ ...good, archive: '../../etc/passwd' });
    refuse({ ...good, archive: 'web01-20261129T101500Z.psbk/../../x' });
    refuse({ ...good, node: 'web01/../../root' });
    refuse({ ...good, roles: ['web proxy'] });
    refuse({ ...good, roles: new Array(50).fill('webproxy') });
    refuse({ ...good, schemaVersion: 1.5 });
    refuse({ ...good, size: -1 });
    refuse({ ...good, sha256: 'zz' });
    refuse({ ...good, keyId: 'x' });
    refuse({ ...good, createdAt: 'yesterday' });
    refuse({ ...good, extra: 1 });
    refuse({ ...good, productVersion: 'a'.repeat(20_000) });
  });

  it('names: only <hostname>-<UTC time>.psbk, nothing with a slash or a dot-dot', () => {
    expect(parseBackupName(backupName('web01', new Date('2026-11-29T10:15:00Z')))).toEqual({ name: 'web01-20261129T101500Z.psbk', hostname: 'web01', time: '2026-11-29T10:15:00Z' });
    for (const name of ['../web01-20261129T101500Z.psbk', 'a/web01-20261129T101500Z.psbk', '.web01-20261129T101500Z.psbk', 'web01-20261329T101500Z.psbk', 'web01-20261129T101500Z.psbk.partial', 'web01.psbk', '-20261129T101500Z.psbk']) {
      expect(parseBackupName(name), name).toBeUndefined();
    }
  });

  it('backup keys: only the printed form, 32 bytes', () => {
    const k = randomBytes(32);
    expect(parseKeyText(keyText(k))?.equals(k)).toBe(true);
    for (const text of ['', 'psbk1-', `psbk1-${'A'.repeat(42)}`, `psbk2-${k.toString('base64url')}`, k.toString('hex')]) expect(parseKeyText(text), text).toBeUndefined();
  });
});

describe('a file location', () => {
  it('lists only regular files, and reads manifests within their bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ps-loc-'));
    writeFileSync(join(dir, 'web01-20261129T101500Z.psbk.manifest.json'), 'x'.repeat(100));
    symlinkSync('/etc/shadow', join(dir, 'web01-20261129T101501Z.psbk'));
    mkdirSync(join(dir, 'web01-20261129T101502Z.psbk'));
    const transport = fileTransport(dir, new AbortController().signal);
    expect((await transport.list()).map((f) => f.name)).toEqual(['web01-20261129T101500Z.psbk.manifest.json']);
    await expect(transport.read('web01-20261129T101500Z.psbk.manifest.json', 50)).rejects.toThrow('larger than 50 bytes');
    await expect(transport.get('web01-20261129T101501Z.psbk', join(dir, 'copy'), 1 << 20, () => undefined)).rejects.toThrow('not a regular file');
    rmSync(dir, { recursive: true });
  });
});
