// `system upgrade`, platformd's half: fetch the release file, check it,
// install it beside the running release, take the store's snapshot, write
// the marker and hand over to the runner (releases/runner.ts), which
// restarts platformd on the new release and holds the health gate.

import { execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { connectLocation, type LocationEnv } from '../backup/transports/connect.js';
import type { NetworkUri } from '../net/uri.js';
import { egressOf } from '../net/connector.js';
import { download } from '../net/download.js';
import { installRelease } from './install.js';
import { trustedKeys } from './keys.js';
import { linkedVersion, releaseDir, snapshotDir, type ProductRoot } from './layout.js';
import { RELEASE_LIMITS, type ReleaseManifest } from './manifest.js';
import { readMarker, writeMarker, type Marker, type Restart } from './marker.js';
import { programOf } from './runner.js';

/** The most a release file may weigh as it is fetched: its files, its manifest and its header. */
export const MAX_RELEASE_FILE_BYTES = RELEASE_LIMITS.totalBytes + RELEASE_LIMITS.manifestBytes + 1024;

/** The download locations a release can come from. */
export const RELEASE_SCHEMES = ['file', 'http', 'https', 'sftp', 'scp', 'ftp'] as const;

/** Fetches the release file a URI names into `into`: http(s) by a download (net/download.ts), file://, sftp, scp and ftp by the backup transports. */
export async function fetchRelease(env: LocationEnv, uri: NetworkUri, into: string, progress: (bytes: number) => void): Promise<void> {
  const path = uri.path ?? '';
  const name = basename(path);
  if (!name) throw new Error('the URI names no file (e.g. file:///media/platform-1.2.0.psup)');
  if (uri.scheme === 'http' || uri.scheme === 'https') return download(uri, into, { egress: egressOf(env.store), maxBytes: MAX_RELEASE_FILE_BYTES, progress, signal: env.signal });
  const transport = await connectLocation(env, { ...uri, path: dirname(path) });
  try {
    await transport.get(name, into, MAX_RELEASE_FILE_BYTES, progress);
  } finally {
    await transport.close();
  }
}

/** Installs a fetched release file; a refusal leaves nothing of it. */
export async function installFetched(product: ProductRoot, file: string, running: string, progress: (bytes: number, total: number) => void): Promise<ReleaseManifest> {
  return installRelease(product, file, { trusted: trustedKeys(product), running, progress });
}

export interface Handover {
  product: ProductRoot;
  from: string;
  to: string;
  kind: Marker['kind'];
  home: string;
  restart: Restart;
  warningsBefore: string[];
  /** The store's online copy, taken before anything switches. */
  snapshot(file: string): Promise<void>;
  /** The release folder whose runner takes over (the one running now: known to work). */
  runnerRelease: string;
}

/** Loads the new release's programs once (`--version` loads the whole bundle): V8's compile cache then holds them, and the restart compiles nothing. */
function warmUp(product: ProductRoot, version: string): Promise<void> {
  return new Promise((resolve) => {
    const [node, entry] = programOf(releaseDir(product, version), 'platformd.js');
    execFile(node, [entry, '--version'], { timeout: 30_000 }, () => resolve());
  });
}

function flushFileSystem(dir: string): Promise<void> {
  return new Promise((resolve) => execFile('sync', ['-f', dir], { timeout: 120_000 }, () => resolve()));
}

/** Takes the snapshot (upgrades), writes the marker and starts the runner, which outlives this platformd. */
export async function handOver(h: Handover): Promise<void> {
  if (readMarker(h.product)) throw new Error('an upgrade or rollback is in progress already');
  await warmUp(h.product, h.to);
  if (h.kind === 'upgrade') {
    const dir = snapshotDir(h.product, h.from);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await h.snapshot(join(dir, 'config.db'));
  }
  // The new release's files reach the disk now, before the switch: the link's fsync in the service gap then waits for nothing else.
  await flushFileSystem(h.product.root);
  writeMarker(h.product, { kind: h.kind, from: h.from, to: h.to, previousBefore: linkedVersion(h.product.previous) ?? null, state: 'prepared', startedAt: new Date().toISOString(), home: h.home, restart: h.restart, warningsBefore: h.warningsBefore });
  const [node, entry] = programOf(h.runnerRelease, 'platform-release.js');
  const args = [entry, 'run', '--product-root', h.product.root];
  const runner =
    h.restart.mode === 'systemd'
      ? spawn('systemd-run', ['--unit', `platform-upgrade-${Date.now()}`, '--collect', '--quiet', '--service-type=exec', node, ...args], { stdio: 'ignore' })
      : spawn(node, args, { detached: true, stdio: 'ignore', env: process.env });
  runner.unref();
}

/** Removes a release that is neither current nor previous (a failed or superseded one), and its stamp. */
export function removeRelease(product: ProductRoot, version: string): void {
  rmSync(releaseDir(product, version), { recursive: true, force: true });
}
