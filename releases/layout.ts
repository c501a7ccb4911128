// The product root: releases installed side by side, the one in service
// named by a symbolic link switched in one rename.
//
//   <root>/releases/<version>/     a release's files, exactly its manifest's
//   <root>/releases/<version>/.release/manifest.json, signature   its signed manifest
//   <root>/current  -> releases/<version>     what systemd (and the boot path) run
//   <root>/previous -> releases/<version>     the release `system rollback` returns to
//   <root>/trusted-keys/<id>.pem              public keys releases may be signed with
//   <root>/state/                             the upgrade marker, the last attempt, stamps, snapshots
//
// On an appliance the root is /opt/platform-shell; tests and a development
// checkout name another with PLATFORM_PRODUCT_ROOT.

import { existsSync, fsyncSync, openSync, closeSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync, mkdirSync, statfsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syncFolder } from '../os/files.js';
import { isVersion } from './manifest.js';

export const APPLIANCE_PRODUCT_ROOT = '/opt/platform-shell';
/** The signed manifest inside an installed release: not one of its listed files. */
export const RELEASE_META = '.release';

export interface ProductRoot {
  root: string;
  releases: string;
  current: string;
  previous: string;
  keys: string;
  state: string;
  /** Present while an upgrade is not yet confirmed: the boot path rolls back when it finds it with no runner alive. */
  marker: string;
  /** The last upgrade or rollback: what happened, when, how long it took. */
  lastAttempt: string;
  /** Set when a release failed its check at start: the banner says so until someone acts. */
  verificationFailed: string;
}

export function productRoot(root: string): ProductRoot {
  const state = join(root, 'state');
  return {
    root,
    releases: join(root, 'releases'),
    current: join(root, 'current'),
    previous: join(root, 'previous'),
    keys: join(root, 'trusted-keys'),
    state,
    marker: join(state, 'upgrade-in-progress.json'),
    lastAttempt: join(state, 'last-attempt.json'),
    verificationFailed: join(state, 'verification-failed.json'),
  };
}

export const releaseDir = (product: ProductRoot, version: string) => {
  if (!isVersion(version)) throw new Error(`not a version: ${version}`);
  return join(product.releases, version);
};
export const snapshotDir = (product: ProductRoot, version: string) => join(product.state, `store-before-leaving-${version}`);
export const stampFile = (product: ProductRoot, version: string) => join(product.state, `stamp-${version}.json`);
/** The quick proof at start that nothing of a release changed since its last full check (releases/install.ts). */
export const sealFile = (product: ProductRoot, version: string) => join(product.state, `seal-${version}.json`);

/** Whether `current` or `previous` names the version: a release the node runs or goes back to. */
export const isLinked = (product: ProductRoot, version: string) => [product.current, product.previous].some((link) => linkedVersion(link) === version);

/** Removes an installed release's folder and what the product keeps about it (never the one `current` or `previous` names: callers check). */
export function removeRelease(product: ProductRoot, version: string): void {
  rmSync(releaseDir(product, version), { recursive: true, force: true });
  rmSync(stampFile(product, version), { force: true });
  rmSync(sealFile(product, version), { force: true });
}

/** The release folder this program runs from (its bin/ or dist/ in releases/<version>/), or undefined in a checkout. */
export function runningRelease(program = process.argv[1]): { product: ProductRoot; version: string; dir: string } | undefined {
  try {
    const dir = dirname(dirname(realpathSync(program ?? fileURLToPath(import.meta.url))));
    if (basename(dirname(dir)) !== 'releases' || !isVersion(basename(dir)) || !existsSync(join(dir, RELEASE_META, 'manifest.json'))) return undefined;
    return { product: productRoot(dirname(dirname(dir))), version: basename(dir), dir };
  } catch {
    return undefined;
  }
}

/** The product root upgrades go to: the running release's, else PLATFORM_PRODUCT_ROOT; undefined in a plain checkout. */
export function configuredProductRoot(): ProductRoot | undefined {
  const running = runningRelease();
  if (running) return running.product;
  const fromEnv = process.env.PLATFORM_PRODUCT_ROOT;
  return fromEnv ? productRoot(fromEnv) : undefined;
}

/** The version a link (current, previous) names, or undefined. */
export function linkedVersion(link: string): string | undefined {
  try {
    const target = basename(readlinkSync(link));
    return isVersion(target) ? target : undefined;
  } catch {
    return undefined;
  }
}

/** Points `link` at releases/<version> in one rename: a reader (or a power cut) sees the old link or the new, never none. */
export function switchLink(product: ProductRoot, link: string, version: string | undefined): void {
  if (version === undefined) {
    rmSync(link, { force: true });
  } else {
    const temp = `${link}.new-${process.pid}`;
    rmSync(temp, { force: true });
    symlinkSync(join('releases', version), temp);
    renameSync(temp, link);
  }
  syncFolder(product.root);
}

/** Writes a small JSON file atomically (temp, fsync, rename, folder fsync). */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const temp = `${file}.tmp-${process.pid}`;
  const fd = openSync(temp, 'w', 0o644);
  try {
    writeFileSync(fd, JSON.stringify(value, null, 1) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  syncFolder(dirname(file));
}

export function readJson<T>(file: string, maxBytes = 64 * 1024): T | undefined {
  try {
    const text = readFileSync(file);
    if (text.length > maxBytes) return undefined;
    return JSON.parse(text.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Bytes free for root on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const stat = statfsSync(dir);
  return stat.bavail * stat.bsize;
}
