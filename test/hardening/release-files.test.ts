// A release file is hostile until proven: `system upgrade` on a real node
// (running from an installed release) refuses each of these with a clear
// message and exit 2, and leaves the product root exactly as it was: nothing
// in releases/, no temporary file, the same links.

import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlatform, startDaemon, tempHome, withoutCI, ROOT, type RunningDaemon } from '../support/daemon.js';
import { buildRelease, installRelease, makeKey, type TestKey } from '../support/releases.js';
import { MAGIC, writeRelease } from '../../releases/container.js';
import { keyIdOf, RELEASE_LIMITS, signManifest } from '../../releases/manifest.js';
import { verifyInstalled } from '../../releases/install.js';
import { trustedKeys } from '../../releases/keys.js';
import { productRoot } from '../../releases/layout.js';

const work = tempHome('ps-release-hard-');
const product = join(work, 'product');
const home = join(work, 'home');
const files = join(work, 'files');
let key: TestKey;
let daemon: RunningDaemon;

/** Every name under the product root but the stamps (rewritten when a check hashes): what a refusal must leave unchanged. */
function tree(dir = product): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isDirectory() || e.isFile() || e.isSymbolicLink())
    .map((e) => relative(product, join(e.parentPath, e.name)) + (e.isSymbolicLink() ? ` -> ${readlinkSync(join(e.parentPath, e.name))}` : ''))
    .filter((name) => !/^state\/stamp-/.test(name))
    .sort();
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

const EMPTY_SHA256 = createHash('sha256').digest('hex');

interface Craft {
  version?: string;
  upgradesFrom?: string;
  files?: { path: string; content: Buffer; mode?: number; size?: number; sha256?: string }[];
  edit?: (manifest: Record<string, unknown>) => void;
  signWith?: string;
  trailing?: Buffer;
  flipContentByte?: boolean;
}

/** A small release file written by hand: a manifest (edited at will), signed (by the test key unless told), then the contents. */
function craft(name: string, options: Craft = {}): string {
  const entries = options.files ?? [{ path: 'package.json', content: Buffer.from('{"name":"platform-shell"}\n') }];
  const manifest: Record<string, unknown> = {
    format: 1,
    product: 'platform-shell',
    version: options.version ?? '1.0.1',
    storeSchema: 7,
    upgradesFrom: options.upgradesFrom ?? '1.0.0',
    node: process.versions.node,
    builtAt: new Date().toISOString(),
    keyId: keyIdOf(createPublicKey(readFileSync(options.signWith ?? key.privateKey, 'utf8'))),
    files: entries.map((f) => ({ path: f.path, size: f.size ?? f.content.length, mode: f.mode ?? 0o644, sha256: f.sha256 ?? sha(f.content) })),
  };
  options.edit?.(manifest);
  const bytes = Buffer.from(JSON.stringify(manifest));
  const signature = signManifest(bytes, readFileSync(options.signWith ?? key.privateKey, 'utf8'));
  const content = Buffer.concat(entries.map((f) => f.content));
  if (options.flipContentByte) content[content.length - 1] ^= 1;
  const file = join(files, name);
  writeFileSync(file, Buffer.concat([MAGIC, u32(bytes.length), bytes, u32(signature.length), signature, content, options.trailing ?? Buffer.alloc(0)]));
  return file;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function refused(file: string, message: RegExp): Promise<void> {
  const before = tree();
  const answer = await runPlatform(home, ['--yes', 'system', 'upgrade', `file://${file}`]);
  expect(answer.stderr).toMatch(message);
  expect(answer.status).toBe(2);
  expect(tree()).toEqual(before);
}

beforeAll(async () => {
  mkdirSync(home);
  mkdirSync(files);
  key = makeKey(work);
  const built = await buildRelease(files, '1.0.0', key);
  await installRelease(product, built, key);
  daemon = await startDaemon({ home, program: join(product, 'current', 'bin', 'platformd.js'), env: withoutCI() });
}, 240_000);

afterAll(async () => {
  await daemon?.stop({ keepHome: true });
});

describe('a release file is refused, and the node left as it was, when', () => {
  it('one byte of a file is changed', () => refused(craft('changed.psup', { flipContentByte: true }), /package\.json in the release does not match its signed hash/));

  it('it carries bytes its manifest does not list', () => refused(craft('extra.psup', { trailing: Buffer.from('#!/bin/sh\nevil\n') }), /holds 15 bytes its manifest does not list/));

  it('it is signed, validly, by a key the node does not trust', () => {
    const stranger = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const strangerFile = join(work, 'stranger.pem');
    writeFileSync(strangerFile, stranger);
    return refused(craft('stranger.psup', { signWith: strangerFile }), /signed by a key this node does not trust \([0-9a-f]{16}\); add it with "system release-key add"/);
  });

  it('its signature does not cover the manifest (a field changed after signing)', async () => {
    const file = craft('resigned.psup');
    const bytes = readFileSync(file);
    const at = bytes.indexOf('"storeSchema":7');
    bytes.write('"storeSchema":8', at);
    writeFileSync(file, bytes);
    await refused(file, /signature does not match its manifest/);
  });

  it('it is older than the running release (a downgrade)', () => refused(craft('old.psup', { version: '0.9.0', upgradesFrom: '0.1.0' }), /release 0\.9\.0 is older than the running 1\.0\.0: a downgrade is refused/));

  it('it is the running version again', () => refused(craft('same.psup', { version: '1.0.0' }), /release 1\.0\.0 is the version running already/));

  it('its oldest version to upgrade from is newer than the running one', () => refused(craft('leap.psup', { version: '2.0.0', upgradesFrom: '1.5.0' }), /upgrades from 1\.5\.0 or later; this node runs 1\.0\.0/));

  it('it is not a release file at all', async () => {
    writeFileSync(join(files, 'text.psup'), 'hello, this is a text file\n');
    await refused(join(files, 'text.psup'), /not a platform release file/);
  });

  it('its manifest length is out of bounds', async () => {
    writeFileSync(join(files, 'huge.psup'), Buffer.concat([MAGIC, u32(RELEASE_LIMITS.manifestBytes + 1)]));
    await refused(join(files, 'huge.psup'), /manifest length is out of bounds/);
  });

  it('it ends inside a file', async () => {
    const file = craft('short.psup');
    writeFileSync(file, readFileSync(file).subarray(0, -3));
    await refused(file, /shorter than the \d+ its manifest declares/);
  });

  const shapes: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['a negative size', (m) => ((m.files as { size: number }[])[0]!.size = -1), /files\.0\.size/],
    ['a set-uid mode', (m) => ((m.files as { mode: number }[])[0]!.mode = 0o4755), /files\.0\.mode/],
    ['a hash that is no SHA-256', (m) => ((m.files as { sha256: string }[])[0]!.sha256 = 'abc'), /files\.0\.sha256/],
    ['a version that is none', (m) => (m.version = '1.0.1; rm -rf /'), /version/],
    ['another format', (m) => (m.format = 2), /format/],
    ['too many files', (m) => (m.files = Array.from({ length: RELEASE_LIMITS.files + 1 }, (_, i) => ({ path: `f${i}`, size: 0, mode: 0o644, sha256: EMPTY_SHA256 }))), /files/],
    ['one file larger than the bound', (m) => ((m.files as { size: number }[])[0]!.size = RELEASE_LIMITS.fileBytes + 1), /files\.0\.size/],
    ['the same path twice', (m) => (m.files = [...(m.files as object[]), ...(m.files as object[])]), /lists package\.json twice/],
  ];
  for (const [what, edit, message] of shapes) {
    it(`its manifest has ${what}`, () => refused(craft(`shape-${what.replace(/\W+/g, '-')}.psup`, { edit }), message));
  }

  const badPaths = ['../escape', '/etc/passwd', 'bin/../../escape', 'dist//x', 'dist/./x', 'bin/a\u0000b', 'bin/new\nline', '.'];
  for (const path of badPaths) {
    it(`a path is ${JSON.stringify(path)}`, () => refused(craft(`path-${sha(Buffer.from(path)).slice(0, 8)}.psup`, { files: [{ path, content: Buffer.from('x') }] }), /not a safe relative path/));
  }

  it('a file would go under another file of it', () =>
    refused(craft('under.psup', { files: [{ path: 'bin', content: Buffer.from('x') }, { path: 'bin/platformd.js', content: Buffer.from('y') }] }), /lists bin\/platformd\.js under the file bin/));
});

describe('an installed release is refused at its check', () => {
  it('when it holds a link, even one that points inside it', () => {
    const link = join(product, 'releases', '1.0.0', 'dist', 'escape');
    symlinkSync('/etc/passwd', link);
    try {
      let output = '';
      try {
        execFileSync(process.execPath, [join(ROOT, 'bin', 'platform-release.js'), 'verify', '--product-root', product], { stdio: 'pipe' });
      } catch (error) {
        output = String((error as { stderr: Buffer }).stderr);
      }
      expect(output).toMatch(/release 1\.0\.0 holds dist\/escape, which its manifest does not list/);
    } finally {
      rmSync(link);
    }
  });

  it('at start, through the seal: a byte changed with its times set back, a file added deep in a folder, one removed, one chmod-ed', async () => {
    const root = productRoot(product);
    const keys = trustedKeys(root);
    const dir = join(product, 'releases', '1.0.0');
    const stamps = join(product, 'state', 'stamp-1.0.0.json');
    await verifyInstalled(root, '1.0.0', keys); // sealed now, whatever earlier tests did
    // Nothing changed: the seal holds, and the per-file stamps are not even rewritten.
    const stampsWritten = statSync(stamps).mtimeMs;
    expect(await verifyInstalled(root, '1.0.0', keys)).toMatchObject({ hashed: 0 });
    expect(statSync(stamps).mtimeMs).toBe(stampsWritten);

    const deepest = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.parentPath.includes('.release')).sort((a, b) => b.parentPath.split('/').length - a.parentPath.split('/').length)[0]!;
    const victim = join(deepest.parentPath, deepest.name);
    const refusedWith = async (code: string) => expect(verifyInstalled(root, '1.0.0', keys)).rejects.toMatchObject({ code });

    const original = readFileSync(victim);
    const { atime, mtime } = statSync(victim);
    writeFileSync(victim, Buffer.from(original).fill(original[0]! ^ 1, 0, 1));
    utimesSync(victim, atime, mtime);
    await refusedWith('hash-mismatch');
    writeFileSync(victim, original);
    expect((await verifyInstalled(root, '1.0.0', keys)).hashed).toBe(1);

    writeFileSync(join(deepest.parentPath, 'added.js'), 'x');
    await refusedWith('extra-file');
    rmSync(join(deepest.parentPath, 'added.js'));

    renameSync(victim, `${victim}.away`);
    await refusedWith('extra-file');
    renameSync(`${victim}.away`, victim);
    rmSync(victim);
    await refusedWith('missing-file');
    writeFileSync(victim, original);

    const mode = statSync(victim).mode & 0o777;
    chmodSync(victim, 0o666);
    await refusedWith('mode-mismatch');
    chmodSync(victim, mode);
    await verifyInstalled(root, '1.0.0', keys);
    expect(await verifyInstalled(root, '1.0.0', keys)).toMatchObject({ hashed: 0 });
  });

  it('the writer refuses to make a release with an unsafe path (nothing written)', () => {
    const out = join(files, 'unsafe-written.psup');
    expect(() => writeRelease(out, { version: '1.0.1', storeSchema: 7, upgradesFrom: '1.0.0', node: '26.0.0', builtAt: new Date().toISOString(), keyId: '0000000000000000' }, [{ path: '../x', mode: 0o644, from: Buffer.from('x') }], readFileSync(key.privateKey, 'utf8'))).toThrow(/not a safe relative path/);
    expect(readdirSync(files)).not.toContain('unsafe-written.psup');
  });
});

describe('trusted release keys', () => {
  it('are added from a media file or base64, listed, deleted; never the last one; a key that is none is refused', async () => {
    const platform = (words: string[]) => runPlatform(home, ['--yes', ...words]);
    const list = async () => (JSON.parse((await platform(['--json', 'system', 'release-key', 'list'])).stdout) as { id: string }[]).map((k) => k.id);
    const [first] = await list();
    expect(first).toMatch(/^[0-9a-f]{16}$/);

    const last = await platform(['system', 'release-key', 'del', first!]);
    expect(last.status).toBe(2);
    expect(last.stderr).toMatch(/is the last trusted release key: add its successor first/);

    const successor = generateKeyPairSync('ed25519').publicKey;
    writeFileSync(join(home, 'media', 'next.pem'), successor.export({ format: 'pem', type: 'spki' }));
    const added = await platform(['--json', 'system', 'release-key', 'add', 'next.pem']);
    expect(added.status, added.stderr).toBe(0);
    const id = JSON.parse(added.stdout).id as string;
    expect(await list()).toEqual([first, id].sort());
    const again = await platform(['system', 'release-key', 'add', successor.export({ format: 'der', type: 'spki' }).toString('base64')]);
    expect(again.stdout).toMatch(/trusted already/);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const wrong = await platform(['system', 'release-key', 'add', rsa]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/a release key is Ed25519, not rsa/);

    expect((await platform(['system', 'release-key', 'del', id])).status).toBe(0);
    expect(await list()).toEqual([first]);
  });
});
