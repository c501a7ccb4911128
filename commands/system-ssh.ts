// `system ssh_session_limit`, `system banner` and `system password`: the SSH
// side of the system group. What they change lives in ssh/login.ts and
// ssh/accounts.ts.

import { choice, integer, text } from '../core/argtypes.js';
import { badInput, failure } from '../core/errors.js';
import { reply } from '../core/reply.js';
import { defineCommand, type Command } from '../core/command.js';
import { json, messageShape } from '../core/json-shape.js';
import { askNewPassword } from '../ssh/accounts.js';
import { installBanner, readBanner, removeBanner, sessionLimit } from '../ssh/login.js';

export const sshSystemCommands: Command[] = [
  defineCommand({
    words: ['system', 'ssh_session_limit'],
    summary: 'Show the most SSH sessions the node accepts at once',
    json: json.object({ sshSessionLimit: json.integer() }),
    run: (ctx) => reply.tree({ ssh_session_limit: sessionLimit(ctx) }),
  }),
  defineCommand({
    words: ['system', 'ssh_session_limit', 'set'],
    summary: 'Set the most SSH sessions the node accepts at once (default 10)',
    json: json.object({ sshSessionLimit: json.integer() }),
    args: [{ name: 'limit', type: integer('<n>', 1, 1000) }],
    run(ctx, args) {
      ctx.store.settings.set('ssh.sessionLimit', args.limit);
      return reply.tree({ ssh_session_limit: args.limit });
    },
  }),
  defineCommand({
    words: ['system', 'banner'],
    summary: 'The pre-login SSH banner: add <file in media>, read or remove',
    json: messageShape,
    args: [
      { name: 'action', type: choice('<add|read|remove>', ['add', 'read', 'remove']) },
      { name: 'file', type: text('<file>'), optional: true },
    ],
    async run(ctx, { action, file }) {
      if (action === 'read') return reply.text(readBanner(ctx.paths) || '(no banner)');
      if (action === 'remove') {
        removeBanner(ctx.paths);
        return reply.text('banner removed');
      }
      if (!file) throw badInput('missing-argument', 'system banner add: name the file uploaded to media');
      const length = await installBanner(ctx.paths, file);
      return reply.text(`banner set (${length} characters); sshd shows it before login`);
    },
  }),
  defineCommand({
    words: ['system', 'password'],
    summary: 'Change your own password (asked twice, never echoed); root on the VM console sets the administrator\'s',
    json: messageShape,
    async run(ctx) {
      const accounts = ctx.services.accounts;
      if (!accounts) throw failure('no-accounts', 'embedded default: console users are not operating-system accounts here, so there is no password to change');
      const user = ctx.caller.user === 'root' ? 'platform' : ctx.caller.user;
      const password = await askNewPassword(ctx, user);
      await accounts.setPassword(user, password, { mustChange: false });
      ctx.store.users.setMustChange(user, false);
      return reply.text(`password of ${user} changed`);
    },
  }),
];
