// `mail ...`: the node's local mailbox. Every warning and error event lands
// here as well as with the notification targets; the banner shows how many
// are unread. Messages are numbered from 1, oldest first.

import type { MailMessage } from '../store/events.js';
import { formatTime } from '../core/time.js';
import { json } from '../core/json-shape.js';
import { badInput } from '../core/errors.js';
import { reply, type Json } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';

const numberOrAll: ArgType<number | 'all'> = {
  hint: '<n|all>',
  parse(value) {
    if (value === 'all') return 'all';
    if (!/^[1-9]\d{0,8}$/.test(value)) throw badInput('bad-number', `<n|all>: "${value}" is neither a message number (see "mail list") nor all`);
    return Number(value);
  },
};

const messageNumber: ArgType<number> = {
  hint: '<n>',
  parse(value) {
    if (!/^[1-9]\d{0,8}$/.test(value)) throw badInput('bad-number', `<n>: "${value}" is not a message number (see "mail list")`);
    return Number(value);
  },
};

function nth(ctx: Context, n: number): MailMessage {
  const all = ctx.store.mailbox.list();
  const message = all[n - 1];
  if (!message) throw badInput('no-such-message', all.length ? `there is no message ${n}; the mailbox holds 1-${all.length}` : 'the mailbox is empty');
  return message;
}

const when = (iso: string) => formatTime(iso);

const commands: Command[] = [
  defineCommand({
    words: ['mail', 'list'],
    summary: 'List the messages of the local mailbox (N: new)',
    json: json.array(json.object({ n: json.integer(), read: json.boolean(), at: json.time(), level: json.oneOf('info', 'warn', 'error'), event: json.string(), text: json.string() })),
    run(ctx) {
      const all = ctx.store.mailbox.list();
      if (all.length === 0) return reply.blocks([{ kind: 'text', text: 'the mailbox is empty' }], []);
      const rows = all.map((m, i) => [String(i + 1), m.read ? ' ' : 'N', when(m.at), m.level, m.name, m.text.length > 60 ? `${m.text.slice(0, 57)}...` : m.text]);
      return reply.table(['n', '', 'time', 'level', 'event', 'text'], rows, all.map((m, i) => ({ n: i + 1, read: m.read === 1, at: m.at, level: m.level, event: m.name, text: m.text })) as Json);
    },
  }),
  defineCommand({
    words: ['mail', 'read'],
    summary: 'Show a message of the local mailbox and mark it read',
    json: json.object({ number: json.integer(), at: json.time(), level: json.oneOf('info', 'warn', 'error'), event: json.string(), text: json.string() }),
    args: [{ name: 'n', type: messageNumber }],
    run(ctx, args) {
      const message = nth(ctx, args.n);
      ctx.store.mailbox.markRead(message.id);
      return reply.tree(
        { message: { number: args.n, time: when(message.at), level: message.level, event: message.name, text: message.text } },
        { number: args.n, at: message.at, level: message.level, event: message.name, text: message.text },
      );
    },
  }),
  defineCommand({
    words: ['mail', 'del'],
    summary: 'Delete a message of the local mailbox, or all of them',
    json: json.object({ deleted: json.integer() }),
    args: [{ name: 'which', type: numberOrAll }],
    run(ctx, args) {
      const which = args.which;
      const removed = which === 'all' ? ctx.store.mailbox.delete('all') : ctx.store.mailbox.delete(nth(ctx, which).id);
      return reply.text(`${removed} message${removed === 1 ? '' : 's'} deleted`, { deleted: removed });
    },
  }),
];

export const mailGroup: Group = { word: 'mail', summary: 'local mail management', commands };
