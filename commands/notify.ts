// `notify ...`: where warnings go, per level, as mailto: or snmp:// URIs.

import { NOTIFY_LEVELS, notifyTargets, shown, type NotifyLevel } from '../net/locations.js';
import { formatUri, uriArg, type NetworkUri } from '../net/uri.js';
import { choice, host } from './argtypes.js';
import { json } from './json-shape.js';
import { badInput, reply, type Command, type Context, type Group, type Json, type Reply } from './types.js';

/** The targets by level: as the appliance prints them, and as JSON (every level, URIs with secrets hidden). */
function listing(ctx: Context): Reply {
  const targets = notifyTargets(ctx.store);
  const level: { [key: string]: Json } = {};
  const levels = Object.fromEntries(NOTIFY_LEVELS.map((l) => [l, targets.filter((t) => t.level === l).map((t) => shown(t.uri))])) as Record<NotifyLevel, string[]>;
  for (const l of NOTIFY_LEVELS) if (levels[l].length) level[l] = levels[l].join(' ');
  const relay = ctx.store.get<string>('notify.emailrelay') ?? null;
  return reply.tree({ notifications: { emailrelay: relay, level } }, { emailRelay: relay, levels });
}

const listingShape = json.object({ emailRelay: json.nullable(json.string()), levels: json.object({ info: json.array(json.string()), warn: json.array(json.string()), error: json.array(json.string()) }) });

const level = choice('<info|warn|error>', NOTIFY_LEVELS);
const target = uriArg('<email/snmp-uri>', ['mailto', 'snmp']);

const commands: Command[] = [
  {
    words: ['notify', 'add'],
    summary: 'Add the email or SNMP URI to a notification level',
    json: listingShape,
    args: [
      { name: 'level', type: level },
      { name: 'uris', type: target, rest: true },
    ],
    run(ctx, args) {
      const insert = ctx.store.db.prepare('INSERT OR IGNORE INTO notify_targets (level, uri) VALUES (?, ?)');
      ctx.store.tx(() => {
        for (const uri of args.uris as NetworkUri[]) insert.run(args.level, formatUri(uri));
      });
      return listing(ctx);
    },
  },
  {
    words: ['notify', 'del'],
    summary: 'Remove a URI from a notification level',
    json: listingShape,
    args: [
      { name: 'level', type: level },
      { name: 'uri', type: target },
    ],
    run(ctx, args) {
      const removed = ctx.store.db.prepare('DELETE FROM notify_targets WHERE level = ? AND uri = ?').run(args.level as NotifyLevel, formatUri(args.uri as NetworkUri)).changes;
      if (!removed) throw badInput('no-such-target', `${shown(args.uri as NetworkUri)} is not a ${args.level as string} target; see "notify list"`);
      return listing(ctx);
    },
  },
  {
    words: ['notify', 'list'],
    summary: 'List the notification targets',
    json: listingShape,
    run: (ctx) => listing(ctx),
  },
  {
    words: ['notify', 'emailrelay'],
    summary: 'Set the mail relay (host[:port], default port 25)',
    json: listingShape,
    args: [{ name: 'relay', type: host('<smtp-host>') }],
    run(ctx, args) {
      ctx.store.set('notify.emailrelay', args.relay);
      return listing(ctx);
    },
  },
];

export const notifyGroup: Group = { word: 'notify', summary: 'notifications control', commands };
