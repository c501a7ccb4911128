// `log send`: the node's logs and its audit log in one compressed tar
// bundle, uploaded to a backup location through the backup transports
// (file, sftp/scp, ftp): the same credentials, trusted host keys and
// temporary-name-then-rename, so a location never holds half a bundle.

import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { connectLocation, type LocationEnv } from '../backup/transports/connect.js';
import type { NetworkUri } from '../net/uri.js';
import { nodeOrDefault } from '../store/node.js';

const TAR_TIMEOUT_MS = 120_000;

/** `<hostname>-logs-<UTC timestamp>.tar.gz`: the node's hostname (as backups are named), in safe file-name characters. */
export function bundleName(host: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${host.replace(/[^A-Za-z0-9.-]/g, '_')}-logs-${stamp}.tar.gz`;
}

export async function sendLogBundle(env: LocationEnv, uri: NetworkUri, auditText: string): Promise<{ name: string; bytes: number }> {
  const { paths, signal } = env;
  const name = bundleName(nodeOrDefault(env.store, hostname()).hostname);
  const work = join(paths.run, `log-bundle-${process.pid}-${Date.now()}`);
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(join(work, 'audit.log'), auditText, { mode: 0o600 });
    const bundle = join(work, name);
    await new Promise<void>((resolve, reject) =>
      execFile('tar', ['-czf', bundle, '-C', paths.home, 'logs', '-C', work, 'audit.log'], { timeout: TAR_TIMEOUT_MS, signal }, (error, _o, stderr) => (error ? reject(new Error(`tar: ${(stderr || error.message).trim().slice(0, 300)}`)) : resolve())),
    );
    const transport = await connectLocation(env, uri);
    try {
      await transport.put(bundle, name, () => {});
    } finally {
      await transport.close().catch(() => {});
    }
    return { name, bytes: statSync(bundle).size };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
