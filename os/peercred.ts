// Who is at the other end of a local socket, as the kernel says (SO_PEERCRED):
// the uid and pid the peer had when it connected, which it cannot forge.
// Node has no API for it, so platformd carries a tiny addon
// (native/peercred, built by scripts/setup.sh). It is loaded the first time
// it is needed; without it, platformd says so once and carries on without
// per-uid bounds (one bound for every connection still holds).

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

interface Addon {
  peerCredentials(fd: number): PeerCredentials;
}

const ADDON = join('native', 'peercred', 'build', 'Release', 'peercred.node');

/** The addon beside the product: from this module's folder (os/, dist/ or dist/chunks/) up to the checkout or install. */
function findAddon(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < 4; level++, dir = dirname(dir)) {
    if (existsSync(join(dir, ADDON))) return join(dir, ADDON);
  }
  return undefined;
}

let loaded: { addon?: Addon; problem?: string } | undefined;

/** The addon, or why it is not there (a message a person can act on), loaded once. */
export function peerCredentialsSupport(): { available: true } | { available: false; problem: string } {
  if (!loaded) {
    const file = findAddon();
    try {
      if (!file) throw new Error(`${ADDON} is missing`);
      loaded = { addon: createRequire(import.meta.url)(file) as Addon };
    } catch (error) {
      loaded = { problem: `the peer-credentials addon could not be loaded (${(error as Error).message}); run scripts/setup.sh to build it. Connections are bounded in total only, not per uid` };
    }
  }
  return loaded.addon ? { available: true } : { available: false, problem: loaded.problem! };
}

/** The kernel's credentials of a unix socket's peer; undefined without the addon or for a socket that has none. */
export function peerCredentials(socket: Socket): PeerCredentials | undefined {
  if (!peerCredentialsSupport().available) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    return loaded!.addon!.peerCredentials(fd);
  } catch {
    return undefined;
  }
}
