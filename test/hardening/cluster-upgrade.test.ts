// The release transfer of `cluster upgrade` (cluster/release-transfer.ts)
// reaches a member's agent from the network: only the primary may send, the
// size is announced and bounded, what arrives must have the SHA-256
// announced, and the member checks the file itself against its OWN trusted
// keys. Every refusal leaves nothing in the transfer folder. The real agent
// and receiver run on 127.0.0.1, with certificates of a real cluster CA.

import { generateKeyPairSync, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError, callAgent, startAgent, type Route } from '../../cluster/agent.js';
import { clusterFiles, ensureCa, ensureIdentity, fingerprintOf, installMembership, issueNodeCertificate, type ClusterFiles } from '../../cluster/identity.js';
import { ReleaseReceiver, TRANSFER_LIMITS } from '../../cluster/release-transfer.js';
import type { Paths } from '../../core/paths.js';
import { writeRelease } from '../../releases/container.js';
import { addTrustedKey } from '../../releases/keys.js';
import { productRoot } from '../../releases/layout.js';
import { keyIdOf } from '../../releases/manifest.js';
import { freePort } from '../support/daemon.js';

const HOST = '127.0.0.1';
let dir: string;
let incoming: string;
let primary: ClusterFiles;
let other: ClusterFiles;
let agent: Server;
let port: number;
let receiver: ReleaseReceiver;
const upgraded: { file: string; existed: boolean }[] = [];
const savedRoot = process.env.PLATFORM_PRODUCT_ROOT;

async function member(name: string, ca: ClusterFiles): Promise<ClusterFiles> {
  const files = clusterFiles({ certs: join(dir, name) } as Paths);
  await ensureIdentity(files, name);
  installMembership(files, readFileSync(ca.ca, 'utf8'), await issueNodeCertificate(ca, readFileSync(files.cert, 'utf8'), name, HOST));
  return files;
}

/** A small signed release: one file, signed by `privateKey`. */
function release(name: string, privateKey: string, keyId: string, version = '9.0.0'): Buffer {
  const out = join(dir, name);
  writeRelease(out, { version, storeSchema: 1, upgradesFrom: '0.0.0', node: '26.0.0', builtAt: new Date().toISOString(), keyId }, [{ path: 'package.json', mode: 0o644, from: Buffer.from('{"name":"platform-shell"}\n') }], privateKey);
  const bytes = readFileSync(out);
  rmSync(out);
  return bytes;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const call = (route: string, body: Record<string, unknown>, files = primary, asMember = true) => callAgent<Record<string, unknown>>(files, HOST, port, route, body, { asMember, timeoutMs: 10_000 });
/** The status and message of a refusal. */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ status: 200, message: '' }),
    (error: Error) => ({ status: error instanceof AgentError ? error.status : 0, message: error.message }),
  );
const leftBehind = () => (existsSync(incoming) ? readdirSync(incoming) : []);

/** Offers `announced` (size and hash) and sends `bytes` in chunks; returns the transfer id. */
async function send(bytes: Buffer, announced = { size: bytes.length, sha256: sha(bytes) }): Promise<string> {
  const { body } = await call('release/offer', announced);
  const id = String(body.id);
  for (let offset = 0; offset < bytes.length; offset += TRANSFER_LIMITS.chunkBytes) {
    await call('release/chunk', { id, offset, data: bytes.subarray(offset, offset + TRANSFER_LIMITS.chunkBytes).toString('base64') });
  }
  return id;
}

let trusted: { privateKey: string; keyId: string };
let untrusted: { privateKey: string; keyId: string };
const pair = () => {
  const keys = generateKeyPairSync('ed25519');
  return { privateKey: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey: keys.publicKey.export({ format: 'pem', type: 'spki' }).toString(), keyId: keyIdOf(keys.publicKey) };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ps-cluster-upgrade-'));
  incoming = join(dir, 'run', 'cluster-release');
  primary = clusterFiles({ certs: join(dir, 'primary') } as Paths);
  await ensureIdentity(primary, 'primary');
  await ensureCa(primary, 'primary');
  installMembership(primary, readFileSync(primary.ca, 'utf8'), await issueNodeCertificate(primary, readFileSync(primary.cert, 'utf8'), 'primary', HOST));
  const self = await member('member', primary);
  other = await member('other', primary);
  // The member's own product root and the one key it trusts.
  const mine = pair();
  trusted = mine;
  untrusted = pair();
  process.env.PLATFORM_PRODUCT_ROOT = join(dir, 'product');
  addTrustedKey(productRoot(join(dir, 'product')), mine.publicKey);
  receiver = new ReleaseReceiver(incoming, async (file) => {
    upgraded.push({ file, existed: existsSync(file) });
    return { upgraded: true };
  });
  const primaryPrint = fingerprintOf(readFileSync(primary.cert));
  const known = new Set([primaryPrint, fingerprintOf(readFileSync(other.cert))]);
  // As cluster/service.ts wraps them: only the inventory's primary may call them.
  const primaryOnly = (route: Route): Route => (body, peer) => {
    if (peer.fingerprint !== primaryPrint) throw new AgentError(403, 'only the primary may do this');
    return route(body, peer);
  };
  const routes = Object.fromEntries(Object.entries(receiver.routes()).map(([name, route]) => [name, primaryOnly(route)]));
  port = freePort();
  agent = await startAgent(self, port, { public: {}, members: routes }, (fp) => known.has(fp), () => undefined);
});

afterAll(async () => {
  receiver.discard();
  agent.closeAllConnections();
  await new Promise((r) => agent.close(r));
  if (savedRoot === undefined) delete process.env.PLATFORM_PRODUCT_ROOT;
  else process.env.PLATFORM_PRODUCT_ROOT = savedRoot;
  rmSync(dir, { recursive: true, force: true });
});

describe('the release transfer of cluster upgrade', () => {
  it('refuses a caller without a member certificate, and a member that is not the primary', async () => {
    const offer = { size: 10, sha256: 'a'.repeat(64) };
    expect(await refusal(call('release/offer', offer, primary, false))).toMatchObject({ status: 403, message: expect.stringMatching(/not a cluster member/) });
    expect(await refusal(call('release/offer', offer, other))).toMatchObject({ status: 403, message: expect.stringMatching(/only the primary/) });
    expect(leftBehind()).toEqual([]);
  });

  it('refuses an offer past the bound, or malformed, before writing anything', async () => {
    expect(await refusal(call('release/offer', { size: TRANSFER_LIMITS.fileBytes + 1, sha256: 'a'.repeat(64) }))).toMatchObject({ status: 413 });
    expect(await refusal(call('release/offer', { size: -1, sha256: 'a'.repeat(64) }))).toMatchObject({ status: 400 });
    expect(await refusal(call('release/offer', { size: 10, sha256: 'not a hash' }))).toMatchObject({ status: 400 });
    expect(leftBehind()).toEqual([]);
  });

  it('refuses a second transfer while one is under way; the first, abandoned, leaves nothing', async () => {
    const { body } = await call('release/offer', { size: 10, sha256: 'a'.repeat(64) });
    expect(await refusal(call('release/offer', { size: 10, sha256: 'b'.repeat(64) }))).toMatchObject({ status: 409, message: expect.stringMatching(/under way already/) });
    expect(leftBehind()).toHaveLength(1);
    await call('release/abort', { id: body.id });
    expect(leftBehind()).toEqual([]);
  });

  it('refuses more bytes than offered, a chunk out of place or not base64, and abandons the transfer', async () => {
    const { body } = await call('release/offer', { size: 4, sha256: 'a'.repeat(64) });
    expect(await refusal(call('release/chunk', { id: body.id, offset: 1, data: 'AAAA' }))).toMatchObject({ status: 409 });
    expect(await refusal(call('release/chunk', { id: body.id, offset: 0, data: '!!not base64!!' }))).toMatchObject({ status: 400 });
    expect(await refusal(call('release/chunk', { id: body.id, offset: 0, data: Buffer.alloc(5).toString('base64') }))).toMatchObject({ status: 413 });
    expect(await refusal(call('release/chunk', { id: body.id, offset: 0, data: 'AAAA' }))).toMatchObject({ status: 409, message: expect.stringMatching(/no such transfer/) });
    expect(leftBehind()).toEqual([]);
  });

  it('refuses a file whose SHA-256 is not the one announced', async () => {
    const good = release('a.psup', trusted.privateKey, trusted.keyId);
    const changed = Buffer.from(good);
    changed[changed.length - 1]! ^= 1;
    const id = await send(changed, { size: good.length, sha256: sha(good) });
    expect(await refusal(call('release/finish', { id }))).toMatchObject({ status: 400, message: expect.stringMatching(/SHA-256 of the file that arrived/) });
    expect(leftBehind()).toEqual([]);
  });

  it("checks the file itself: garbage, or a release signed by a key it does not trust, is refused by the member's own verification", async () => {
    const garbage = Buffer.alloc(3000, 7);
    expect(await refusal(call('release/finish', { id: await send(garbage) }))).toMatchObject({ status: 422, message: expect.stringMatching(/refused by this node: not a platform release file/) });
    expect(leftBehind()).toEqual([]);
    const foreign = release('b.psup', untrusted.privateKey, untrusted.keyId);
    expect(await refusal(call('release/finish', { id: await send(foreign) }))).toMatchObject({ status: 422, message: expect.stringMatching(/refused by this node/) });
    expect(leftBehind()).toEqual([]);
    expect(upgraded).toEqual([]);
  });

  it('a release it trusts, whole: checked, upgraded from, then removed; an upgrade before the finish is refused', async () => {
    const good = release('c.psup', trusted.privateKey, trusted.keyId);
    const id = await send(good);
    expect(await refusal(call('release/upgrade', { id }))).toMatchObject({ status: 409, message: expect.stringMatching(/not finished/) });
    expect((await call('release/finish', { id })).body).toEqual({ version: '9.0.0' });
    expect((await call('release/upgrade', { id, user: 'platform' })).body).toEqual({ upgraded: true });
    expect(upgraded).toHaveLength(1);
    expect(upgraded[0]!.existed).toBe(true);
    expect(leftBehind()).toEqual([]);
  });
});
