// `system ssh_session_limit`, `system banner` and `system password`: the SSH
// side of the system group. The session limit is enforced by the console
// itself (every SSH session, interactive, one-shot or file transfer, runs the
// console, which registers with the daemon); the banner is the file sshd
// shows before login.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBoundedFile, writeFileInside } from '../os/files.js';
import { fileIn } from '../os/names.js';
import { choice, integer, text } from '../core/argtypes.js';
import { badInput, failure } from '../core/errors.js';
import { reply } from '../core/reply.js';
import { type Command } from '../core/command.js';
import { type Context } from '../core/context.js';
import type { Paths } from '../core/paths.js';
import { askNewPassword } from './accounts.js';
import { json, messageShape } from '../core/json-shape.js';

export const DEFAULT_SESSION_LIMIT = 10;
export const BANNER_MAX_CHARS = 1600;

export const sessionLimit = (ctx: Pick<Context, 'store'>) => ctx.store.get<number>('ssh.sessionLimit') ?? DEFAULT_SESSION_LIMIT;

/** The file sshd's `Banner` points at. */
export const bannerFile = (paths: Paths) => join(paths.etc, 'sshd-banner');

function writeBanner(paths: Paths, content: string): void {
  writeFileInside(paths.etc, 'sshd-banner', content, 0o644);
}

export const sshSystemCommands: Command[] = [
  {
    words: ['system', 'ssh_session_limit'],
    summary: 'Show the most SSH sessions the node accepts at once',
    json: json.object({ sshSessionLimit: json.integer() }),
    run: (ctx) => reply.tree({ ssh_session_limit: sessionLimit(ctx) }),
  },
  {
    words: ['system', 'ssh_session_limit', 'set'],
    summary: 'Set the most SSH sessions the node accepts at once (default 10)',
    json: json.object({ sshSessionLimit: json.integer() }),
    args: [{ name: 'limit', type: integer('<n>', 1, 1000) }],
    run(ctx, args) {
      ctx.store.set('ssh.sessionLimit', args.limit);
      return reply.tree({ ssh_session_limit: args.limit as number });
    },
  },
  {
    words: ['system', 'banner'],
    summary: 'The pre-login SSH banner: add <file in media>, read or remove',
    json: messageShape,
    args: [
      { name: 'action', type: choice('<add|read|remove>', ['add', 'read', 'remove']) },
      { name: 'file', type: text('<file>'), optional: true },
    ],
    async run(ctx, args) {
      const action = args.action as string;
      if (action === 'read') return reply.text(existsSync(bannerFile(ctx.paths)) ? readFileSync(bannerFile(ctx.paths), 'utf8') || '(no banner)' : '(no banner)');
      if (action === 'remove') {
        writeBanner(ctx.paths, '');
        return reply.text('banner removed');
      }
      if (!args.file) throw badInput('missing-argument', 'system banner add: name the file uploaded to media');
      // Opened once, checked through the descriptor; refused beyond the bound before anything is read.
      const content = (await readBoundedFile(fileIn(ctx.paths.media, args.file as string, 'media file name'), { maxBytes: BANNER_MAX_CHARS, label: `media/${args.file as string}` }).catch((error) => {
        throw error?.code === 'too-large' ? badInput('banner-too-long', `${error.message} (a banner has at most ${BANNER_MAX_CHARS} characters)`) : error;
      })).toString('latin1');
      if (content.length > BANNER_MAX_CHARS) throw badInput('banner-too-long', `the banner has ${content.length} characters; at most ${BANNER_MAX_CHARS} are allowed`);
      if (/[^\x09\x0a\x0d\x20-\x7e]/.test(content)) throw badInput('banner-not-ascii', 'the banner must be plain ASCII text');
      writeBanner(ctx.paths, content);
      return reply.text(`banner set (${content.length} characters); sshd shows it before login`);
    },
  },
  {
    words: ['system', 'password'],
    summary: 'Change your own password (asked twice, never echoed); root on the VM console sets the administrator\'s',
    json: messageShape,
    async run(ctx) {
      const accounts = ctx.services.accounts;
      if (!accounts) throw failure('no-accounts', 'embedded default: console users are not operating-system accounts here, so there is no password to change');
      const user = ctx.caller.user === 'root' ? 'platform' : ctx.caller.user;
      const password = await askNewPassword(ctx, user);
      await accounts.setPassword(user, password, { mustChange: false });
      ctx.store.tx(() => ctx.store.db.prepare('UPDATE users SET must_change = 0 WHERE name = ?').run(user));
      return reply.text(`password of ${user} changed`);
    },
  },
];
