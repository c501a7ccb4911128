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

/** Makes (or keeps) each console user's token, readable by that user only. */
export async function issueTokens(paths: Paths, users: readonly string[]): Promise<void> {
  mkdirSync(paths.userTokens, { recursive: true, mode: 0o755 });
  chmodSync(paths.userTokens, 0o755); // the daemon's umask is 077; each file inside is its user's alone
  // Every name is checked (it becomes a file name) before any is looked up.
  const files = users.map((user) => ({ user, file: tokenFile(paths, user) }));
  for (const { file } of files) if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o400 });
  const uids = await uidsOf(users);
  for (const { user, file } of files) {
    const uid = uids.get(user);
    if (uid !== undefined && uid !== userInfo().uid) chownSync(file, uid, -1);
  }
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
