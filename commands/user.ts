// `user ...`: the console's users and their rights. A user holds command
// prefixes (`user grant joe app` = every `app ...` command); what is not
// granted is refused and hidden. Where console users are operating-system
// accounts (an appliance), each command also changes the account, and the
// security policy shown is what PAM holds; in the embedded default only the
// config store changes, and the commands say so.

import { randomBytes } from 'node:crypto';
import { ADMINISTRATORS } from '../users/rights.js';
import { issueTokens, revokeToken } from '../users/tokens.js';
import { askNewPassword, faillockDir, loginFailures } from '../ssh/accounts.js';
import { LOCKOUT_POLICY, passwordProblems } from '../ssh/policy.js';
import { text } from '../core/argtypes.js';
import { USER_NAME } from '../core/grammar.js';
import { userAddKey } from './keys.js';
import { commandsUnder, registeredTree, resolvePrefix } from './tree.js';
import { whyAdminOnly } from './admin-only.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Json } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';
import { json, messageShape } from '../core/json-shape.js';
import { formatTime } from '../core/time.js';

/** The reference's rule: a letter, then letters, digits, ".", "_" and "-". */
const userName: ArgType<string> = {
  hint: '<user>',
  parse(value) {
    if (!USER_NAME.test(value)) throw badInput('bad-user-name', `<user>: "${value}" must start with a letter and hold only letters, digits, ".", "_" and "-" (32 at most)`);
    return value;
  },
  complete: (ctx) => ctx.store.users.names(),
};

const EMBEDDED = 'embedded default: console users are not operating-system accounts here';

function exists(ctx: Context, name: string): boolean {
  return ctx.store.users.exists(name);
}

function requireUser(ctx: Context, name: string): void {
  if (!exists(ctx, name)) throw badInput('no-such-user', `no user named ${name}; see "user list"`);
}

/** A first password the policy accepts; the user replaces it at first login. */
function initialPassword(): string {
  for (;;) {
    const candidate = `${randomBytes(9).toString('base64url')}-7`;
    if (passwordProblems(candidate).length === 0) return candidate;
  }
}

/**
 * A grant names a command path of the tree (abbreviations allowed, as
 * everywhere; arguments may follow) and is stored in canonical words. A
 * prefix that holds only administrator-only commands is refused; one that
 * holds some says which it leaves out.
 */
function grantable(ctx: Context, typed: string[]): { prefix: string; leftOut: string[] } {
  const { node, words } = resolvePrefix(registeredTree(ctx), typed);
  const commands = commandsUnder(node).filter((c) => !c.hidden);
  const leftOut = commands.filter((c) => c.adminOnly).map((c) => c.words.join(' '));
  if (leftOut.length === commands.length) {
    const why = whyAdminOnly(commands[0]?.words ?? words);
    throw badInput('administrator-only', `"${words.join(' ')}" is for administrators only, and no grant includes it${why ? `: ${why}` : ''}`);
  }
  return { prefix: words.join(' '), leftOut };
}

/** The stored grant a revoke names: as typed when held (a grant from before abbreviations resolved), else resolved through the tree. */
function resolveStored(ctx: Context, name: string, typed: string[]): string {
  const held = ctx.store.users.grants(name);
  if (held.includes(typed.join(' '))) return typed.join(' ');
  return resolvePrefix(registeredTree(ctx), typed).words.join(' ');
}

function rightsReply(ctx: Context, name: string) {
  const held = ctx.store.users.grants(name);
  return reply.tree({ [name]: { rights: held.join(', ') || null } }, { user: name, rights: held });
}

/** One user's line of the security policy, from what PAM holds where it can be read. */
function securityPolicy(ctx: Context, name: string, mustChange: boolean): { [key: string]: Json } {
  const failures = loginFailures(faillockDir(ctx.paths), name);
  const last = failures.recent.at(-1);
  return {
    account_locked: failures.lockedUntil ? `Yes, until ${formatTime(failures.lockedUntil)}` : 'No',
    failed_logins: last ? `${failures.recent.length} (last from ${last.from} at ${formatTime(last.at)})` : 0,
    must_change_password: mustChange ? 'Yes' : 'No',
  };
}

const commands: Command[] = [
  defineCommand({
    words: ['user', 'add'],
    summary: 'Add a console user with no rights; the first password must be changed at first login',
    json: json.object({ user: json.string(), initialPassword: json.string() }),
    args: [{ name: 'name', type: userName }],
    async run(ctx, args) {
      const name = args.name;
      if (ADMINISTRATORS.has(name) || exists(ctx, name)) throw badInput('user-exists', `a user named ${name} exists`);
      const initial = initialPassword();
      // The account first: one that cannot be made leaves no user behind; a store that cannot record it removes the account again.
      await ctx.services.accounts?.add(name, initial);
      try {
        // Jobs left by an earlier user of this name (a store from before jobs went with their owner) are not theirs.
        ctx.store.tx(() => {
          ctx.store.users.add(name, new Date().toISOString());
          ctx.store.schedule.deleteOwnedBy(name);
        });
      } catch (error) {
        await ctx.services.accounts?.remove(name).catch(() => undefined);
        throw error;
      }
      await issueTokens(ctx.paths, [name]);
      const where = ctx.services.accounts ? 'operating system account made' : EMBEDDED;
      return reply.blocks(
        [
          { kind: 'tree', value: { user: name, 'initial password': initial, rights: 'value not set' } },
          { kind: 'text', text: `The password must be changed at first login. ${where}.` },
        ],
        { user: name, initialPassword: initial },
      );
    },
  }),
  defineCommand({
    words: ['user', 'del'],
    summary: 'Delete a user, their rights and their scheduled jobs',
    json: messageShape,
    args: [{ name: 'name', type: userName }],
    confirm: (args) => `Delete user ${args.name}?`,
    async run(ctx, args) {
      const name = args.name;
      if (ADMINISTRATORS.has(name)) throw badInput('protected-user', `${name} is the appliance's administrator and cannot be deleted`);
      requireUser(ctx, name);
      await ctx.services.accounts?.remove(name);
      // Their jobs go with them: a later user of the same name inherits nothing.
      ctx.store.tx(() => {
        ctx.store.users.remove(name);
        ctx.store.schedule.deleteOwnedBy(name);
      });
      revokeToken(ctx.paths, name);
      return reply.text(`deleted ${name}${ctx.services.accounts ? ' and their operating system account' : ''}`);
    },
  }),
  defineCommand({
    words: ['user', 'list'],
    summary: 'List the users, their rights and security policy',
    json: json.object({ users: json.array(json.object({ name: json.string(), rights: json.array(json.string()), mustChangePassword: json.boolean(), lockedUntil: json.nullable(json.time()), failedLogins: json.array(json.object({ from: json.string(), at: json.time() })) })) }),
    run(ctx) {
      const users = ctx.store.users.list();
      if (users.length === 0) return reply.tree({ user: 'none' }, { users: [] });
      const held = (name: string) => ctx.store.users.grants(name);
      // Where accounts are the OS's, PAM's view wins over the store's (a user changes the first password through PAM).
      const mustChange = ctx.services.accounts?.mustChangePassword();
      const mustChangeOf = (u: { name: string; mustChange: boolean }) => (mustChange ? mustChange.has(u.name) : u.mustChange);
      const data = users.map((u) => {
        const failures = loginFailures(faillockDir(ctx.paths), u.name);
        return {
          name: u.name,
          rights: held(u.name),
          mustChangePassword: mustChangeOf(u),
          lockedUntil: failures.lockedUntil?.toISOString() ?? null,
          failedLogins: failures.recent.map((f) => ({ from: f.from, at: f.at.toISOString() })),
        };
      });
      return reply.tree(
        {
          user: Object.fromEntries(users.map((u) => [u.name, { rights: held(u.name).join(', ') || null }])),
          security_policy: Object.fromEntries(users.map((u) => [u.name, securityPolicy(ctx, u.name, mustChangeOf(u))])),
        },
        { users: data },
      );
    },
  }),
  ...(['grant', 'revoke'] as const).map(
    (verb) => defineCommand({
      words: ['user', verb],
      summary: verb === 'grant' ? 'Grant a user a command prefix (e.g. "app" or "app start")' : 'Take a command prefix back from a user',
      args: [
        { name: 'name', type: userName },
        { name: 'prefix', type: text('<command words>'), rest: true },
      ],
      json: json.object({ user: json.string(), rights: json.array(json.string()) }),
      async run(ctx, args) {
        const name = args.name;
        if (ADMINISTRATORS.has(name)) throw badInput('protected-user', `${name} holds every right`);
        requireUser(ctx, name);
        if (verb === 'revoke') {
          // What was granted is taken back as stored; a typed abbreviation is resolved first.
          const prefix = resolveStored(ctx, name, args.prefix);
          if (!ctx.store.users.revoke(name, prefix)) throw badInput('not-granted', `${name} does not hold "${prefix}"`);
          return rightsReply(ctx, name);
        }
        const { prefix, leftOut } = grantable(ctx, args.prefix);
        ctx.store.users.grant(name, prefix);
        const note = leftOut.length ? [{ kind: 'text' as const, text: `not included, administrators only: ${leftOut.join(', ')}` }] : [];
        const granted = rightsReply(ctx, name);
        return { ...granted, blocks: [...granted.blocks, ...note] };
      },
    }),
  ),
  defineCommand({
    words: ['user', 'password'],
    summary: "Set a user's password (asked twice, never echoed); they change it at their next login",
    json: messageShape,
    args: [{ name: 'name', type: userName }],
    async run(ctx, args) {
      const name = args.name;
      requireUser(ctx, name);
      const password = await askNewPassword(ctx, name);
      // The administrator knows it now: the user replaces it at the next login.
      await ctx.services.accounts?.setPassword(name, password, { mustChange: true });
      ctx.store.users.setMustChange(name, true);
      return reply.text(`password of ${name} set; ${name} must change it at the next login${ctx.services.accounts ? '' : ` (${EMBEDDED})`}`);
    },
  }),
  defineCommand({
    words: ['user', 'unlock'],
    summary: `Unlock an account locked after ${LOCKOUT_POLICY.attempts} failed logins (it unlocks by itself after ${LOCKOUT_POLICY.lockMinutes} minutes)`,
    json: messageShape,
    args: [{ name: 'name', type: userName }],
    async run(ctx, args) {
      const name = args.name;
      if (!ADMINISTRATORS.has(name)) requireUser(ctx, name);
      const failures = loginFailures(faillockDir(ctx.paths), name);
      if (failures.recent.length === 0) return reply.text(`${name} has no failed logins; nothing to unlock`);
      if (!ctx.services.accounts) throw failure('no-accounts', EMBEDDED);
      await ctx.services.accounts.unlock(name);
      return reply.text(`${failures.lockedUntil ? 'unlocked' : 'failed logins forgotten for'} ${name} (${failures.recent.length} failed logins, the last from ${failures.recent.at(-1)!.from})`);
    },
  }),
];

export const userGroup: Group = { word: 'user', summary: 'manage users', commands: [...commands, userAddKey] };
