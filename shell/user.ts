// Who is at the console: the login name of the process.

import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Paths } from '../core/paths.js';

export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The token that proves the user to the daemon (daemon/identity.ts), if this user can read one. */
export function readOwnToken(paths: Paths, user: string): string | undefined {
  try {
    return readFileSync(join(paths.userTokens, user), 'utf8');
  } catch {
    return undefined;
  }
}
