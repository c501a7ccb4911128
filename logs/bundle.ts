// `log send`: the node's logs and its audit log in one compressed tar
// bundle, copied to a backup location. file:// locations only for now; the
// other schemes are the backup engine's transfers.

import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { NetworkUri } from '../net/uri.js';
import type { Paths } from '../store/paths.js';
import { LogNameError } from './files.js';

const TAR_TIMEOUT_MS = 120_000;

export async function sendLogBundle(paths: Paths, uri: NetworkUri, auditText: string, signal: AbortSignal): Promise<{ name: string; bytes: number }> {
  if (uri.scheme !== 'file') throw new LogNameError(`log send supports file:// locations so far, not ${uri.scheme}://`);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const name = `${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-logs-${stamp}.tar.gz`;
  const work = join(paths.run, `log-bundle-${process.pid}-${Date.now()}`);
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(join(work, 'audit.log'), auditText, { mode: 0o600 });
    const bundle = join(work, name);
    await new Promise<void>((resolve, reject) =>
      execFile('tar', ['-czf', bundle, '-C', paths.home, 'logs', '-C', work, 'audit.log'], { timeout: TAR_TIMEOUT_MS, signal }, (error, _o, stderr) => (error ? reject(new Error(`tar: ${(stderr || error.message).trim().slice(0, 300)}`)) : resolve())),
    );
    const folder = uri.path!;
    mkdirSync(folder, { recursive: true });
    // Copied next to its final name, then renamed: the location never holds half a bundle.
    copyFileSync(bundle, join(folder, `.${name}.part`));
    renameSync(join(folder, `.${name}.part`), join(folder, name));
    return { name, bytes: statSync(join(folder, name)).size };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
