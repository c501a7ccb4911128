// The node's own SSH key pair and the remote hosts it trusts (for backups and
// transfers), kept under etc/ssh in OpenSSH's known_hosts format. `keys`
// writes them; the backup transports read them.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../core/paths.js';
import { defaultPort } from '../catalog/derive.js';

export const nodeSshDir = (paths: Paths) => join(paths.etc, 'ssh');
export const nodePrivateKeyFile = (paths: Paths) => join(nodeSshDir(paths), 'id_ed25519');
export const knownHostsFile = (paths: Paths) => join(nodeSshDir(paths), 'known_hosts');

export interface TrustedHost {
  host: string;
  port: number;
  type: string;
  /** The key blob, base64. */
  key: string;
}

export function trustedHosts(paths: Paths): TrustedHost[] {
  if (!existsSync(knownHostsFile(paths))) return [];
  return readFileSync(knownHostsFile(paths), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, type, key] = line.split(' ') as [string, string, string];
      const match = /^\[(.+)\]:(\d+)$/.exec(name);
      return { host: match ? match[1]! : name, port: match ? Number(match[2]) : defaultPort('ssh'), type, key };
    });
}

/** The base64 key blob the node trusts for host:port, if any. */
export function trustedHostKey(paths: Paths, host: string, port: number): string | undefined {
  return trustedHosts(paths).find((t) => t.host === host && t.port === port)?.key;
}
