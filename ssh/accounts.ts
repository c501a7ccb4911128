// Console users as operating-system accounts: on an appliance (or when
// platformd is given --accounts-shell) each console user is a Unix account
// whose login shell is the console, made and changed with the system's own
// tools. What PAM knows of an account is read back from where PAM keeps it:
// /etc/shadow (must the password change?) and pam_faillock's records
// (failed logins, and the lock they lead to).

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, failure } from '../core/errors.js';
import { type Context } from '../core/context.js';
import type { Paths } from '../core/paths.js';
import { LOCKOUT_POLICY, PASSWORD_POLICY, passwordProblems } from './policy.js';
import { runProcess } from '../os/processes.js';
import { fileIn } from '../os/names.js';

/** The group of console users: it may use the daemon's socket and write to media. */
export const consoleGroupName = () => process.env.PLATFORM_CONSOLE_GROUP ?? 'platform';

/** Where pam_faillock keeps each user's failed logins (ssh/openssh.ts points PAM there). */
export const faillockDir = (paths: Paths) => join(paths.run, 'faillock');

export interface AccountLayout {
  /** Login shell of console users: the console. */
  shell: string;
  group: string;
  /** Their home: the node's data folder. */
  home: string;
  faillockDir: string;
}

/** The account tools run asynchronously, bounded in time; a password goes through stdin, never argv. */
async function run(command: string, args: string[], input?: string): Promise<void> {
  const result = await runProcess(command, args, { input, timeoutMs: 30_000 });
  if (result.status !== 0) throw failure('account-failed', `${command} failed: ${result.stderr.trim() || `exit ${result.status ?? result.signal}`}`);
}

/** How many times a refused new password is asked for before the command ends. */
const PASSWORD_TRIES = 3;

/**
 * Asks for a new password twice, never echoed, and holds it to the policy.
 * A refused one is asked for again (saying why), so that the person, who
 * expects the next question, never types a password at the prompt.
 */
export async function askNewPassword(ctx: Pick<Context, 'ask'>, user: string): Promise<string> {
  let why = '';
  for (let attempt = 1; ; attempt++) {
    const password = await ctx.ask({ text: `${why}new password for ${user}`, secret: true });
    // An empty answer (or Ctrl-C) ends the command.
    if (password === '') throw badInput('no-password', 'no password given; nothing changed');
    const problems = passwordProblems(password);
    const again = problems.length === 0 && (await ctx.ask({ text: 'again', secret: true })) === password;
    if (again) return password;
    const refusal = problems.length ? `the password needs ${problems.join(', ')}` : 'the two passwords differ';
    if (attempt === PASSWORD_TRIES) throw badInput(problems.length ? 'weak-password' : 'passwords-differ', `${refusal}; nothing changed`);
    // The try counted, so a person knows how many remain (and the echo of one question never reads as the next).
    why = `${refusal}; try ${attempt + 1} of ${PASSWORD_TRIES}, `;
  }
}

export class OsAccounts {
  constructor(readonly layout: AccountLayout) {}

  /** A new account whose first password must be changed at its first login; nothing is left behind on failure. */
  async add(name: string, initialPassword: string): Promise<void> {
    const { home, shell, group } = this.layout;
    await run('useradd', ['--no-create-home', '--home-dir', home, '--shell', shell, '--groups', group, name]);
    try {
      await run('chpasswd', [], `${name}:${initialPassword}\n`);
      await run('chage', ['--lastday', '0', '--maxdays', String(PASSWORD_POLICY.maxAgeDays), name]);
    } catch (error) {
      await runProcess('userdel', [name], { timeoutMs: 30_000 }).catch(() => undefined);
      throw error;
    }
  }

  async remove(name: string): Promise<void> {
    await run('userdel', [name]);
    rmSync(fileIn(this.layout.faillockDir, name, 'user name'), { force: true });
  }

  async setPassword(name: string, password: string, { mustChange }: { mustChange: boolean }): Promise<void> {
    await run('chpasswd', [], `${name}:${password}\n`);
    if (mustChange) await run('chage', ['--lastday', '0', name]);
  }

  /** Forgets the failed logins, which ends a lock. */
  async unlock(name: string): Promise<void> {
    await run('faillock', ['--dir', this.layout.faillockDir, '--user', name, '--reset']);
  }

  /** The accounts whose password must be changed at the next login (/etc/shadow's last change is day 0). */
  mustChangePassword(): Set<string> | undefined {
    try {
      const lines = readFileSync('/etc/shadow', 'utf8').split('\n').map((line) => line.split(':'));
      return new Set(lines.filter((fields) => fields[2] === '0').map((fields) => fields[0]!));
    } catch {
      return undefined; // not root: PAM will still ask
    }
  }
}

export interface FailedLogin {
  at: Date;
  /** The remote address or terminal pam_faillock recorded. */
  from: string;
}

export interface LoginFailures {
  /** Failed logins that still count towards a lock. */
  recent: FailedLogin[];
  lockedUntil?: Date;
}

// pam_faillock's record: char source[52]; uint16 reserved; uint16 status; uint64 time (native byte order).
const RECORD_BYTES = 64;
const STATUS_VALID = 0x1;

/** The failed logins pam_faillock holds for a user, and whether they lock the account now. */
export function loginFailures(dir: string, user: string, now = new Date()): LoginFailures {
  let data: Buffer;
  try {
    data = readFileSync(fileIn(dir, user, 'user name'));
  } catch {
    return { recent: [] };
  }
  const windowStart = now.getTime() - LOCKOUT_POLICY.withinMinutes * 60_000;
  const recent: FailedLogin[] = [];
  for (let offset = 0; offset + RECORD_BYTES <= data.length; offset += RECORD_BYTES) {
    if ((data.readUInt16LE(offset + 54) & STATUS_VALID) === 0) continue;
    const at = new Date(Number(data.readBigUInt64LE(offset + 56)) * 1000);
    if (at.getTime() < windowStart) continue;
    const source = data.subarray(offset, offset + 52);
    recent.push({ at, from: source.subarray(0, source.indexOf(0) < 0 ? 52 : source.indexOf(0)).toString() });
  }
  recent.sort((a, b) => a.at.getTime() - b.at.getTime());
  if (recent.length < LOCKOUT_POLICY.attempts) return { recent };
  const lockedUntil = new Date(recent[recent.length - 1]!.at.getTime() + LOCKOUT_POLICY.lockMinutes * 60_000);
  return lockedUntil > now ? { recent, lockedUntil } : { recent };
}
