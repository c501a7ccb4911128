// `notify ...`: where warnings go, per level, as mailto: or snmp:// URIs.

import { NOTIFY_LEVELS, notifyTargets, shown, type NotifyLevel } from '../net/locations.js';
import { formatUri, uriArg, type NetworkUri } from '../net/uri.js';
import { choice, host } from './argtypes.js';
import { badInput, reply, type Command, type Context, type Group, type Json } from './types.js';

function listing(ctx: Context): { [key: string]: Json } {
  const targets = notifyTargets(ctx.store);
  const level: { [key: string]: Json } = {};
  for (const l of NOTIFY_LEVELS) {
    const uris = targets.filter((t) => t.level === l).map((t) => shown(t.uri));
    if (uris.length) level[l] = uris.join(' ');
  }
  return { notifications: { emailrelay: ctx.store.get<string>('notify.emailrelay') ?? null, level } };
}

const level = choice('<info|warn|error>', NOTIFY_LEVELS);
const target = uriArg('<email/snmp-uri>', ['mailto', 'snmp']);

const commands: Command[] = [
  {
    words: ['notify', 'add'],
    summary: 'Add the email or SNMP URI to a notification level',
    args: [
      { name: 'level', type: level },
      { name: 'uris', type: target, rest: true },
    ],
    run(ctx, args) {
      const insert = ctx.store.db.prepare('INSERT OR IGNORE INTO notify_targets (level, uri) VALUES (?, ?)');
      ctx.store.tx(() => {
        for (const uri of args.uris as NetworkUri[]) insert.run(args.level, formatUri(uri));
      });
      return reply.tree(listing(ctx));
    },
  },
  {
    words: ['notify', 'del'],
    summary: 'Remove a URI from a notification level',
    args: [
      { name: 'level', type: level },
      { name: 'uri', type: target },
    ],
    run(ctx, args) {
      const removed = ctx.store.db.prepare('DELETE FROM notify_targets WHERE level = ? AND uri = ?').run(args.level as NotifyLevel, formatUri(args.uri as NetworkUri)).changes;
      if (!removed) throw badInput('no-such-target', `${shown(args.uri as NetworkUri)} is not a ${args.level as string} target; see "notify list"`);
      return reply.tree(listing(ctx));
    },
  },
  {
    words: ['notify', 'list'],
    summary: 'List the notification targets',
    run: (ctx) => reply.tree(listing(ctx)),
  },
  {
    words: ['notify', 'emailrelay'],
    summary: 'Set the mail relay (host[:port], default port 25)',
    args: [{ name: 'relay', type: host('<smtp-host>') }],
    run(ctx, args) {
      ctx.store.set('notify.emailrelay', args.relay);
      return reply.tree(listing(ctx));
    },
  },
];

export const notifyGroup: Group = { word: 'notify', summary: 'notifications control', commands };
