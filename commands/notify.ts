// `notify ...`: where warnings go, per level, as mailto: or snmp:// URIs.

import { NOTIFY_LEVELS, addNotifyTargets, notifyTargets, removeNotifyTarget, shown, type NotifyLevel } from '../net/locations.js';
import { uriArg, type NetworkUri } from '../net/uri.js';
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
      addNotifyTargets(ctx.store, args.level as NotifyLevel, args.uris as NetworkUri[]);
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
      const removed = removeNotifyTarget(ctx.store, args.level as NotifyLevel, args.uri as NetworkUri);
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
