// Who is on the other end of the local socket. Node cannot read the peer's
// credentials of a unix socket, so each console user has a token file under
// run/users/ that only they (and root) can read; the console sends it, the
// daemon compares. A caller without a matching token holds no rights.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { runProcess } from '../os/processes.js';
import { fileIn } from '../os/names.js';
import type { Paths } from '../core/paths.js';

const tokenFile = (paths: Paths, user: string) => fileIn(paths.userTokens, user, 'user name');

/** The Unix uid of a user, when the account exists on this system. */
async function uidOf(user: string): Promise<number | undefined> {
  // runProcess's default bound: 5 s killed platformd's start on a booting, emulated, busy node.
  const result = await runProcess('id', ['-u', user]);
  return result.status === 0 ? Number(result.stdout.trim()) : undefined;
}

/** Makes (or keeps) the token of a console user, readable by that user only. */
export async function issueToken(paths: Paths, user: string): Promise<void> {
  mkdirSync(paths.userTokens, { recursive: true, mode: 0o755 });
  chmodSync(paths.userTokens, 0o755); // the daemon's umask is 077; each file inside is its user's alone
  const file = tokenFile(paths, user);
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o400 });
  const uid = await uidOf(user);
  if (uid !== undefined && uid !== userInfo().uid) chownSync(file, uid, -1);
}

export function revokeToken(paths: Paths, user: string): void {
  if (!/^[a-z0-9._-]+$/i.test(user)) return;
  rmSync(tokenFile(paths, user), { force: true });
}

export function tokenMatches(paths: Paths, user: string, token: string | undefined): boolean {
  if (!token || !/^[a-z0-9._-]+$/i.test(user)) return false;
  try {
    const expected = Buffer.from(readFileSync(tokenFile(paths, user), 'utf8'));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  } catch {
    return false;
  }
}
