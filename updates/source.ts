// Where the node's OS security updates come from: one apt repository at a
// download location (http://, https://, or file:// for media holding a
// repository), a suite and components, and the OpenPGP key that signs it,
// trusted explicitly (apt's `signed-by`): never the machine's own sources
// or keyrings. What a person gives is hostile until checked: the URI by the
// product's grammar and apt's, the key file by its size and by gpg itself.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { badInput, failure } from '../core/errors.js';
import { aptValueProblem, COMPONENT, SUITE } from '../core/apt-grammar.js';
import { formatUri, parseUri, UriError } from '../net/uri.js';
import { runProcess } from '../os/processes.js';
import type { Store } from '../store/db.js';
import type { UpdateSource } from '../store/settings.js';

export type { UpdateSource };

/** A key file larger than this is no signing key (Debian's archive keyrings are a few KiB). */
export const MAX_KEY_BYTES = 64 * 1024;
/** Keys one source may trust. */
export const MAX_KEYS = 16;
/** gpg gets this long to read a key. */
const GPG_TIMEOUT_MS = 20_000;

export const DEFAULT_SUITE = 'stable';
export const DEFAULT_COMPONENTS = ['main'];

/** The repository URI, checked: http, https or file, no credentials, nothing apt's sources line cannot carry. Returns its one written form. */
export function checkSourceUri(text: string): string {
  let uri;
  try {
    uri = parseUri(text);
  } catch (error) {
    if (error instanceof UriError) throw badInput('bad-uri', `<uri>: ${error.message}`);
    throw error;
  }
  if (!['http', 'https', 'file'].includes(uri.scheme)) throw badInput('bad-uri', `<uri>: ${uri.scheme} URIs cannot be a package source; use http://, https:// or file://`);
  if (uri.user !== undefined) throw badInput('bad-uri', '<uri>: a package source holds no user or password (a mirror is read anonymously; the signature proves what it serves)');
  const written = formatUri(uri);
  const problem = aptValueProblem(written);
  if (problem) throw badInput('bad-uri', `<uri>: ${problem}`);
  return written;
}

export function checkSuite(text: string): string {
  if (!SUITE.test(text)) throw badInput('bad-suite', `<suite>: "${text.slice(0, 64)}" is not a suite (letters, digits, ".", "_", "-"; 64 at most), e.g. bookworm-security`);
  return text;
}

export function checkComponents(text: string): string[] {
  const list = text.split(',');
  if (list.length > 16 || list.some((c) => !COMPONENT.test(c))) throw badInput('bad-components', `<components>: "${text.slice(0, 64)}" is not a comma-separated list of components (e.g. main,contrib)`);
  return [...new Set(list)];
}

/**
 * Checks that `bytes` are OpenPGP public keys, with gpg in a throw-away home:
 * armoured or binary, no secret key, at most MAX_KEYS. Returns the keys as
 * gpg exports them (only the public parts it understood) and their
 * fingerprints.
 */
export async function checkSigningKey(bytes: Buffer, label: string, signal?: AbortSignal): Promise<{ keyring: Buffer; fingerprints: string[] }> {
  if (bytes.length === 0) throw badInput('not-a-key', `${label} is empty`);
  if (bytes.length > MAX_KEY_BYTES) throw badInput('too-large', `${label} is ${bytes.length} bytes; a signing key is at most ${MAX_KEY_BYTES / 1024} KiB`);
  const home = await mkdtemp(join(tmpdir(), 'platform-gpg-'));
  const gpg = (args: string[]) => runProcess('gpg', ['--batch', '--no-tty', '--no-options', '--homedir', home, ...args], { timeoutMs: GPG_TIMEOUT_MS, maxOutputBytes: 1024 * 1024, signal, env: { PATH: process.env.PATH, LC_ALL: 'C' } });
  try {
    const file = join(home, 'candidate');
    await writeFile(file, bytes, { mode: 0o600 });
    const shown = await gpg(['--with-colons', '--show-keys', file]);
    const records = shown.stdout.split('\n').map((line) => line.split(':'));
    if (records.some((r) => r[0] === 'sec' || r[0] === 'ssb')) throw badInput('secret-key', `${label} holds a secret key: give only the repository's public key (gpg --export, not --export-secret-keys)`);
    // A fingerprint follows each primary key (pub) and each subkey (sub): keep the primary ones.
    const fingerprints: string[] = [];
    records.forEach((r, i) => {
      const next = records[i + 1];
      if (r[0] === 'pub' && next?.[0] === 'fpr' && /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/.test(next[9] ?? '')) fingerprints.push(next[9]!);
    });
    if (shown.status !== 0 || fingerprints.length === 0) throw badInput('not-a-key', `${label} is not an OpenPGP public key (armoured or binary, as "gpg --export" writes it)`);
    if (fingerprints.length > MAX_KEYS) throw badInput('too-many-keys', `${label} holds ${fingerprints.length} keys; at most ${MAX_KEYS}`);
    const imported = await gpg(['--import-options', 'import-minimal', '--import', file]);
    if (imported.status !== 0) throw badInput('not-a-key', `${label} could not be read as OpenPGP keys: ${(imported.stderr.trim().split('\n').slice(-1)[0] ?? '').slice(0, 200).replace(/[^\x20-\x7e]/g, '?')}`);
    const armoured = await gpg(['--armor', '--export', ...fingerprints]);
    if (armoured.status !== 0 || !armoured.stdout.includes('BEGIN PGP PUBLIC KEY BLOCK')) throw failure('gpg-failed', `gpg could not export the key from ${label}`);
    const keyring = Buffer.from(armoured.stdout, 'utf8');
    if (keyring.length > MAX_KEY_BYTES) throw badInput('too-large', `${label} holds keys of more than ${MAX_KEY_BYTES / 1024} KiB`);
    return { keyring, fingerprints };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** The source the store keeps, or undefined when none is set. */
export const sourceOf = (store: Store): UpdateSource | undefined => store.settings.get('security.source');

/** The source's key as apt reads it with `signed-by` (an armoured keyring, a `.asc` file). */
export const keyringOf = (source: UpdateSource): Buffer => Buffer.from(source.key, 'base64');
