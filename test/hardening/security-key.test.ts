// The update source's signing key is a file from media: hostile until gpg
// itself has read it as OpenPGP public keys. Bounded before it is read (64
// KiB), opened once (no link, FIFO or folder), a secret key refused, junk
// refused, at most 16 keys; what is kept is what gpg exported, not the file.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';
import { checkSigningKey, MAX_KEY_BYTES } from '../../updates/source.js';

let node: RunningDaemon;
let dir: string;
const gpg = (...args: string[]) => execFileSync('gpg', ['--batch', '--homedir', join(dir, 'gnupg'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(async () => {
  dir = tempHome('ps-security-key-');
  mkdirSync(join(dir, 'gnupg'), { mode: 0o700 });
  gpg('--passphrase', '', '--quick-gen-key', 'key-test@example.test', 'ed25519', 'sign', 'never');
  node = await startDaemon();
  mkdirSync(join(node.home, 'media'), { recursive: true });
});
afterAll(async () => {
  // Key generation started an agent in the throw-away home.
  execFileSync('gpgconf', ['--homedir', join(dir, 'gnupg'), '--kill', 'gpg-agent']);
  await node?.stop();
});

const setKey = (file: string) => node.platform(['security', 'source', 'https://updates.example.test/debian', 'key', file]);

describe('a key file from media', () => {
  it('is refused beyond 64 KiB before it is read, and as a link, a FIFO or a folder', async () => {
    writeFileSync(join(node.home, 'media', 'huge.asc'), Buffer.alloc(MAX_KEY_BYTES + 1, 0x41));
    symlinkSync('/etc/shadow', join(node.home, 'media', 'link.asc'));
    execFileSync('mkfifo', [join(node.home, 'media', 'fifo.asc')]);
    mkdirSync(join(node.home, 'media', 'folder.asc'));
    for (const [file, said] of [
      ['huge.asc', /at most 64 KiB/],
      ['link.asc', /symbolic link/],
      ['fifo.asc', /not a regular file/],
      ['folder.asc', /is a folder/],
      ['../config.db', /media file name|not a plain name|name/],
    ] as const) {
      const result = await setKey(file);
      expect(result.status, file).toBe(2);
      expect(result.stderr, file).toMatch(said);
    }
    expect(JSON.parse((await node.platform(['--json', 'security', 'source'])).stdout).uri).toBeNull();
  });

  it('must be what gpg reads as public keys: junk, an empty file and a secret key are refused', async () => {
    writeFileSync(join(node.home, 'media', 'junk.asc'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    writeFileSync(join(node.home, 'media', 'empty.asc'), '');
    writeFileSync(join(node.home, 'media', 'secret.asc'), gpg('--armor', '--pinentry-mode', 'loopback', '--passphrase', '', '--export-secret-keys', 'key-test@example.test'));
    for (const [file, said] of [
      ['junk.asc', /not an OpenPGP public key/],
      ['empty.asc', /is empty/],
      ['secret.asc', /holds a secret key/],
    ] as const) {
      const result = await setKey(file);
      expect(result.status, file).toBe(2);
      expect(result.stderr, file).toMatch(said);
    }
  });

  it('binary or armoured, is kept as gpg exports it, with its fingerprint', async () => {
    const fingerprint = gpg('--with-colons', '--fingerprint', 'key-test@example.test').toString().split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
    writeFileSync(join(node.home, 'media', 'binary.gpg'), gpg('--export', 'key-test@example.test'));
    // Text around an armoured block is not kept: what gpg exports is.
    writeFileSync(join(node.home, 'media', 'armoured.asc'), `some words before\n${gpg('--armor', '--export', 'key-test@example.test').toString()}`);
    for (const file of ['binary.gpg', 'armoured.asc']) {
      const result = await node.platform(['--json', 'security', 'source', 'https://updates.example.test/debian', 'key', file]);
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).keyFingerprints).toEqual([fingerprint]);
    }
    const checked = await checkSigningKey(readFileSync(join(node.home, 'media', 'armoured.asc')), 'media/armoured.asc');
    expect(checked.keyring.toString()).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(checked.keyring.toString()).not.toContain('some words before');
  });

  it('holds at most 16 keys', async () => {
    for (let i = 0; i < 17; i++) gpg('--passphrase', '', '--quick-gen-key', `many${i}@example.test`, 'ed25519', 'sign', 'never');
    const all = gpg('--armor', '--export');
    await expect(checkSigningKey(all, 'media/many.asc')).rejects.toThrow(/holds 18 keys; at most 16/);
  }, 120_000);
});
