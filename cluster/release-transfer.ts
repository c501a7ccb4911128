// A member's half of `cluster upgrade`: receiving a release file from the
// primary over the agent, in chunks that each fit the agent's bounded
// request (offer, chunk..., finish), then upgrading from it with the node's
// own `system upgrade`. Only the primary may send (its member certificate),
// yet nothing it says is taken on its word: the size is bounded and
// announced first, the SHA-256 of what arrived must be the one announced,
// and the node checks the file itself against its OWN trusted release keys
// (signature, every file's hash, the upgrade path) before keeping it. One
// transfer at a time, bounded in time; whatever is refused is removed.

import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { configuredProductRoot } from '../releases/layout.js';
import { trustedKeys } from '../releases/keys.js';
import { checkUpgradePath, ReleaseRefused } from '../releases/manifest.js';
import { MAX_RELEASE_FILE_BYTES } from '../releases/upgrade.js';
import { verifyReleaseFile } from '../releases/verify-file.js';
import { AgentError, type Route } from './agent.js';
import { OWN_VERSIONS } from './protocol-version.js';

export const TRANSFER_LIMITS = {
  /** The bytes of one chunk: base64 in JSON, it stays under the agent's 1 MB body. */
  chunkBytes: 512 * 1024,
  /** The whole file. */
  fileBytes: MAX_RELEASE_FILE_BYTES,
  /** No chunk for this long: the transfer is abandoned and its file removed. */
  idleMs: 60_000,
  /** From the offer to the finish, whatever the pace. */
  totalMs: 30 * 60_000,
} as const;

const SHA256 = /^[0-9a-f]{64}$/;
const TRANSFER_ID = /^[0-9a-f]{32}$/;

interface Transfer {
  id: string;
  file: string;
  fd: number | undefined;
  size: number;
  sha256: string;
  received: number;
  hash: Hash;
  startedAt: number;
  idle: NodeJS.Timeout;
  /** Checked by this node, ready for `system upgrade`. */
  version?: string;
}

export class ReleaseReceiver {
  private transfer?: Transfer;

  constructor(
    /** The folder incoming files are written to (under the node's run folder). */
    private readonly folder: string,
    private readonly upgrade: (file: string, user: string, address: string) => Promise<unknown>,
  ) {}

  /** The folder's content: tests check nothing is left behind. */
  get dir(): string {
    return this.folder;
  }

  /** Abandons the transfer under way (if any) and removes its file. */
  discard(): void {
    const t = this.transfer;
    if (!t) return;
    this.transfer = undefined;
    clearTimeout(t.idle);
    if (t.fd !== undefined) closeSync(t.fd);
    rmSync(t.file, { force: true });
  }

  private current(id: unknown): Transfer {
    const t = this.transfer;
    if (typeof id !== 'string' || !TRANSFER_ID.test(id)) throw new AgentError(400, 'id: not a transfer id');
    if (!t || t.id !== id) throw new AgentError(409, 'no such transfer (abandoned after a minute with no chunk, or replaced)');
    if (Date.now() - t.startedAt > TRANSFER_LIMITS.totalMs) {
      this.discard();
      throw new AgentError(408, `the transfer took longer than ${TRANSFER_LIMITS.totalMs / 60_000} minutes: abandoned`);
    }
    return t;
  }

  private touch(t: Transfer): void {
    clearTimeout(t.idle);
    t.idle = setTimeout(() => this.transfer === t && this.discard(), TRANSFER_LIMITS.idleMs);
    t.idle.unref();
  }

  /** The routes, each wrapped by the caller (only the primary may call them). */
  routes(): Record<string, Route> {
    return {
      'release/offer': async (body) => {
        const size = body.size;
        const sha256 = body.sha256;
        if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) throw new AgentError(400, 'size: a whole number of bytes');
        if (size > TRANSFER_LIMITS.fileBytes) throw new AgentError(413, `a release file is at most ${TRANSFER_LIMITS.fileBytes} bytes; ${size} offered`);
        if (typeof sha256 !== 'string' || !SHA256.test(sha256)) throw new AgentError(400, 'sha256: 64 hex digits');
        if (!configuredProductRoot()) throw new AgentError(409, 'this node runs from a development checkout, not an installed release: it cannot be upgraded');
        if (this.transfer) throw new AgentError(409, 'a release transfer is under way already on this node');
        mkdirSync(this.folder, { recursive: true, mode: 0o700 });
        const id = randomBytes(16).toString('hex');
        const file = join(this.folder, `incoming-${id}.psup`);
        const t: Transfer = { id, file, fd: openSync(file, 'wx', 0o600), size, sha256, received: 0, hash: createHash('sha256'), startedAt: Date.now(), idle: setTimeout(() => {}, 0) };
        this.transfer = t;
        this.touch(t);
        return { id, chunkBytes: TRANSFER_LIMITS.chunkBytes };
      },
      'release/chunk': async (body) => {
        const t = this.current(body.id);
        if (t.fd === undefined) throw new AgentError(409, 'the transfer is finished already');
        if (body.offset !== t.received) throw new AgentError(409, `offset: ${t.received} expected`);
        if (typeof body.data !== 'string' || body.data.length > Math.ceil(TRANSFER_LIMITS.chunkBytes / 3) * 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.data)) throw new AgentError(400, 'data: base64 of at most one chunk');
        const bytes = Buffer.from(body.data, 'base64');
        if (t.received + bytes.length > t.size) {
          this.discard();
          throw new AgentError(413, `more bytes than the ${t.size} offered: the transfer is abandoned`);
        }
        writeSync(t.fd, bytes);
        t.hash.update(bytes);
        t.received += bytes.length;
        this.touch(t);
        return { received: t.received };
      },
      'release/finish': async (body) => {
        const t = this.current(body.id);
        if (t.fd === undefined) throw new AgentError(409, 'the transfer is finished already');
        closeSync(t.fd);
        t.fd = undefined;
        try {
          if (t.received !== t.size) throw new AgentError(400, `${t.received} bytes arrived, ${t.size} were offered`);
          if (t.hash.digest('hex') !== t.sha256) throw new AgentError(400, 'the SHA-256 of the file that arrived is not the one offered');
          const product = configuredProductRoot()!;
          const { manifest } = await verifyReleaseFile(t.file, trustedKeys(product));
          checkUpgradePath(manifest, OWN_VERSIONS.product);
          t.version = manifest.version;
          this.touch(t);
          return { version: manifest.version };
        } catch (error) {
          this.discard();
          if (error instanceof ReleaseRefused) throw new AgentError(422, `refused by this node: ${error.message}`);
          throw error;
        }
      },
      'release/upgrade': async (body, peer) => {
        const t = this.current(body.id);
        if (!t.version) throw new AgentError(409, 'the transfer is not finished and checked');
        const user = body.user === undefined ? 'platform' : String(body.user);
        if (!/^[A-Za-z_][A-Za-z0-9._-]{0,31}$/.test(user)) throw new AgentError(400, 'user: not a user name');
        try {
          // The node's own `system upgrade`: it checks the file once more as it installs it, and hands over to its runner.
          return await this.upgrade(t.file, user, peer.address);
        } finally {
          this.discard();
        }
      },
      'release/abort': async (body) => {
        if (this.transfer && this.transfer.id === body.id) this.discard();
        return { aborted: true };
      },
    };
  }
}
