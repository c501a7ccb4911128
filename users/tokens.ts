// Who is on the other end of the local socket. Node cannot read the peer's
// credentials of a unix socket, so each console user has a token file under
// run/users/ that only they (and root) can read; the console sends it, the
// daemon compares. A caller without a matching token holds no rights.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { runProcess } from '../os/processes.js';
import { fileIn } from '../os/names.js';
import type { Paths } from '../core/paths.js';
import { USER_NAME } from '../core/grammar.js';
import { ADMINISTRATORS } from './rights.js';

const tokenFile = (paths: Paths, user: string) => fileIn(paths.userTokens, user, 'user name');

/**
 * The Unix uids of those users that have an account on this system: one
 * `getent` for all of them (a process each cost seconds at platformd's start
 * on an emulated node). getent exits 2 when some name has none; the lines it
 * prints are the accounts that exist. Only a line whose name is one asked for
 * counts: a numeric name would be looked up as a uid.
 */
async function uidsOf(users: readonly string[]): Promise<Map<string, number>> {
  const uids = new Map<string, number>();
  if (users.length === 0) return uids;
  const result = await runProcess('getent', ['passwd', ...users]);
  for (const line of result.stdout.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name !== undefined && users.includes(name) && /^\d+$/.test(uid ?? '')) uids.set(name, Number(uid));
  }
  return uids;
}

/**
 * Makes (or keeps) each console user's token, readable by that user only.
 * A name that cannot be a user's (a store restored from elsewhere may hold
 * one) gets no token: it is skipped with a log line, never an error, since
 * platformd calls this at start.
 */
export async function issueTokens(paths: Paths, users: readonly string[], log: (message: string) => void = () => undefined): Promise<void> {
  mkdirSync(paths.userTokens, { recursive: true, mode: 0o755 });
  chmodSync(paths.userTokens, 0o755); // the daemon's umask is 077; each file inside is its user's alone
  // Every name is checked (it becomes a file name) before any is looked up.
  const files: { user: string; file: string }[] = [];
  for (const user of users) {
    if (USER_NAME.test(user) || ADMINISTRATORS.has(user)) files.push({ user, file: tokenFile(paths, user) });
    else log(`no token for the user name ${JSON.stringify(user.slice(0, 80))}: not a user name`);
  }
  for (const { file } of files) if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o400 });
  const names = files.map((f) => f.user);
  const uids = await uidsOf(names);
  for (const { user, file } of files) {
    const uid = uids.get(user);
    if (uid !== undefined && uid !== userInfo().uid) chownSync(file, uid, -1);
  }
}

/**
 * Revokes the token of every user not in `users` (after a restore replaced
 * the users: one that is gone must not keep a token that proves it); returns
 * the names revoked.
 */
export function revokeTokensExcept(paths: Paths, users: readonly string[]): string[] {
  const keep = new Set(users);
  let present: string[];
  try {
    present = readdirSync(paths.userTokens);
  } catch {
    return [];
  }
  const gone = present.filter((name) => !keep.has(name));
  for (const name of gone) rmSync(join(paths.userTokens, name), { force: true });
  return gone;
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
