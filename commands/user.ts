// `user ...`: the console's users and their rights. A user holds command
// prefixes (`user grant joe app` = every `app ...` command); what is not
// granted is refused and hidden. On an appliance each user is also a Unix
// account whose login shell is the console; in the embedded default only
// the config store changes, and the commands say so.

import { randomBytes, scryptSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { ADMINISTRATORS } from '../daemon/rights.js';
import { issueToken, revokeToken } from '../daemon/identity.js';
import { text } from './argtypes.js';
import { userAddKey } from './keys.js';
import { badInput, failure, reply, type ArgType, type Command, type Context, type Group, type Json } from './types.js';

/** The reference's rule: a letter, then letters, digits, ".", "_" and "-". */
const userName: ArgType<string> = {
  hint: '<user>',
  parse(value) {
    if (!/^[a-zA-Z][a-zA-Z0-9._-]{0,31}$/.test(value)) throw badInput('bad-user-name', `<user>: "${value}" must start with a letter and hold only letters, digits, ".", "_" and "-" (32 at most)`);
    return value;
  },
  complete: (ctx) => (ctx.store.db.prepare('SELECT name FROM users ORDER BY name').all() as { name: string }[]).map((u) => u.name),
};

/** At least 8 characters with upper and lower case letters, a digit and a symbol. */
export function passwordProblems(password: string): string[] {
  const rules: [boolean, string][] = [
    [password.length >= 8, 'at least 8 characters'],
    [/[A-Z]/.test(password), 'an upper-case letter'],
    [/[a-z]/.test(password), 'a lower-case letter'],
    [/\d/.test(password), 'a digit'],
    [/[^A-Za-z0-9]/.test(password), 'a symbol'],
  ];
  return rules.filter(([ok]) => !ok).map(([, rule]) => rule);
}

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, 32).toString('hex')}`;
}

const isAppliance = (ctx: Context) => ctx.store.get<{ appliance: boolean }>('daemon')?.appliance === true;

/** Runs an account tool on an appliance; in the embedded default the OS is left alone. */
function system(ctx: Context, command: string, args: string[], input?: string): string {
  if (!isAppliance(ctx)) return 'embedded default: the operating system account is not changed';
  const result = spawnSync(command, args, { input, encoding: 'utf8' });
  if (result.status !== 0) throw failure('account-failed', `${command} failed: ${(result.stderr || result.error?.message || '').trim()}`);
  return 'operating system account updated';
}

function exists(ctx: Context, name: string): boolean {
  return Boolean(ctx.store.db.prepare('SELECT 1 FROM users WHERE name = ?').get(name));
}

function requireUser(ctx: Context, name: string): void {
  if (!exists(ctx, name)) throw badInput('no-such-user', `no user named ${name}; see "user list"`);
}

/** A grant must name a command path of the tree (arguments may follow). */
async function checkPrefix(words: string[]): Promise<string> {
  const { groups } = await import('./index.js');
  const [group, ...rest] = words;
  const commands = groups.find((g) => g.word === group)?.commands;
  if (!commands) throw badInput('unknown-command', `"${group}" is not a command group; see "help"`);
  const fits = commands.some((c) => rest.every((word, i) => i + 1 >= c.words.length || c.words[i + 1] === word));
  if (!fits) throw badInput('unknown-command', `"${words.join(' ')}" names no command`);
  return words.join(' ');
}

const commands: Command[] = [
  {
    words: ['user', 'add'],
    summary: 'Add a console user with no rights; the first password must be changed at first login',
    args: [{ name: 'name', type: userName }],
    run(ctx, args) {
      const name = args.name as string;
      if (ADMINISTRATORS.has(name) || exists(ctx, name)) throw badInput('user-exists', `a user named ${name} exists`);
      const initial = `${randomBytes(6).toString('base64url')}-A1`;
      ctx.store.tx(() => ctx.store.db.prepare('INSERT INTO users (name, password_hash, must_change, created_at) VALUES (?, ?, 1, ?)').run(name, hashPassword(initial), new Date().toISOString()));
      let os: string;
      try {
        os = system(ctx, 'useradd', ['--no-create-home', '--home-dir', '/opt/platform', '--shell', '/usr/local/bin/platform', '--groups', 'platform', name]);
        system(ctx, 'chpasswd', [], `${name}:${initial}\n`);
        system(ctx, 'chage', ['-d', '0', name]); // must change at first login
      } catch (error) {
        ctx.store.db.prepare('DELETE FROM users WHERE name = ?').run(name);
        throw error;
      }
      issueToken(ctx.paths, name);
      return reply.blocks([{ kind: 'tree', value: { user: name, 'initial password': initial, rights: 'value not set' } }, { kind: 'text', text: `The password must be changed at first login. ${os}.` }], { user: name, initialPassword: initial });
    },
  },
  {
    words: ['user', 'del'],
    summary: 'Delete a user and their rights',
    args: [{ name: 'name', type: userName }],
    confirm: (args) => `Delete user ${args.name as string}?`,
    run(ctx, args) {
      const name = args.name as string;
      if (ADMINISTRATORS.has(name)) throw badInput('protected-user', `${name} is the appliance's administrator and cannot be deleted`);
      requireUser(ctx, name);
      const os = system(ctx, 'userdel', [name]);
      ctx.store.tx(() => ctx.store.db.prepare('DELETE FROM users WHERE name = ?').run(name));
      revokeToken(ctx.paths, name);
      return reply.text(`deleted ${name}; ${os}`);
    },
  },
  {
    words: ['user', 'list'],
    summary: 'List the users, their rights and security policy',
    run(ctx) {
      const users = ctx.store.db.prepare('SELECT name, must_change, failed_logins, locked_until FROM users ORDER BY name').all() as { name: string; must_change: number; failed_logins: number; locked_until: string | null }[];
      const rights = ctx.store.db.prepare('SELECT prefix FROM user_rights WHERE user = ? ORDER BY prefix');
      const tree: { [key: string]: Json } = {
        user: Object.fromEntries(users.map((u) => [u.name, { rights: (rights.all(u.name) as { prefix: string }[]).map((r) => r.prefix).join(', ') || null }])),
        security_policy: Object.fromEntries(users.map((u) => [u.name, { account_locked: u.locked_until ? 'Yes' : 'No', must_change_password: u.must_change === 1 ? 'Yes' : 'No', failed_logins: u.failed_logins }])),
      };
      return reply.tree(users.length ? tree : { user: 'none' });
    },
  },
  ...(['grant', 'revoke'] as const).map(
    (verb): Command => ({
      words: ['user', verb],
      summary: verb === 'grant' ? 'Grant a user a command prefix (e.g. "app" or "app start")' : 'Take a command prefix back from a user',
      args: [
        { name: 'name', type: userName },
        { name: 'prefix', type: text('<command words>'), rest: true },
      ],
      async run(ctx, args) {
        const name = args.name as string;
        if (ADMINISTRATORS.has(name)) throw badInput('protected-user', `${name} holds every right`);
        requireUser(ctx, name);
        const prefix = await checkPrefix(args.prefix as string[]);
        if (verb === 'grant') ctx.store.db.prepare('INSERT OR IGNORE INTO user_rights (user, prefix) VALUES (?, ?)').run(name, prefix);
        else if (!ctx.store.db.prepare('DELETE FROM user_rights WHERE user = ? AND prefix = ?').run(name, prefix).changes) throw badInput('not-granted', `${name} does not hold "${prefix}"`);
        const held = (ctx.store.db.prepare('SELECT prefix FROM user_rights WHERE user = ? ORDER BY prefix').all(name) as { prefix: string }[]).map((r) => r.prefix);
        return reply.tree({ [name]: { rights: held.join(', ') || null } });
      },
    }),
  ),
  {
    words: ['user', 'password'],
    summary: "Set a user's password (asked twice, never echoed)",
    args: [{ name: 'name', type: userName }],
    async run(ctx, args) {
      const name = args.name as string;
      requireUser(ctx, name);
      const password = await ctx.ask({ text: `new password for ${name}`, secret: true });
      const problems = passwordProblems(password);
      if (problems.length) throw badInput('weak-password', `the password needs ${problems.join(', ')}`);
      if ((await ctx.ask({ text: 'again', secret: true })) !== password) throw badInput('passwords-differ', 'the two passwords differ; nothing changed');
      const os = system(ctx, 'chpasswd', [], `${name}:${password}\n`);
      ctx.store.db.prepare('UPDATE users SET password_hash = ?, must_change = 0 WHERE name = ?').run(hashPassword(password), name);
      return reply.text(`password of ${name} changed; ${os}`);
    },
  },
];

export const userGroup: Group = { word: 'user', summary: 'manage users', commands: [...commands, userAddKey] };
