// `notify ...`: where warnings go, per level, as mailto: or snmp:// URIs; the
// mail relay; and a test notification through the same outbox as real
// events. A target added at a level receives that level and the ones above
// (info: everything; warn: warnings and errors; error: errors).

import { isIP } from 'node:net';
import { targetKey } from '../events/bus.js';
import { NOTIFY_LEVELS, addNotifyTargets, notifyTargets, removeNotifyTarget, shown, type NotifyLevel } from '../net/locations.js';
import { formatUri, redactText, uriArg, type NetworkUri } from '../net/uri.js';
import { parseRelay } from '../notify/mail.js';
import { ENTERPRISE_OID } from '../notify/trap.js';
import { choice, host } from '../core/argtypes.js';
import { json } from '../core/json-shape.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Json, type Reply } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';
import { defaultPort } from '../catalog/derive.js';

/** The targets by level, the relay and what waits in the outbox: as the appliance prints them, and as JSON (secrets hidden). */
function listing(ctx: Context): Reply {
  const targets = notifyTargets(ctx.store);
  const level: { [key: string]: Json } = {};
  const levels = Object.fromEntries(NOTIFY_LEVELS.map((l) => [l, targets.filter((t) => t.level === l).map((t) => shown(t.uri))])) as Record<NotifyLevel, string[]>;
  for (const l of NOTIFY_LEVELS) if (levels[l].length) level[l] = levels[l].join(' ');
  const relay = ctx.store.settings.get('notify.emailrelay') ?? null;
  // The outbox knows a target by its key: shown as the target's redacted URI.
  const byKey = new Map(targets.map((t) => [targetKey(formatUri(t.uri)), shown(t.uri)]));
  const waiting = ctx.store.outbox.summary().map((row) => ({ target: byKey.get(row.target) ?? '(a removed target)', waiting: row.pending, held: row.held, lastError: row.last_error ? redactText(row.last_error) : null }));
  // One entry per target, never keyed by its shown URI: two targets can look alike once their secrets are hidden.
  const outbox: Json[] = waiting.map((w) => ({ target: w.target, waiting: `${w.waiting}${w.held ? ` (${w.held} from maintenance mode)` : ''}`, 'last error': w.lastError ?? 'none' }));
  const sender = `platform@${ctx.store.settings.get('node')?.hostname ?? 'localhost'}`;
  return reply.tree(
    { notifications: { emailrelay: relay, sender, level, ...(waiting.length ? { outbox } : {}), 'snmp enterprise': ENTERPRISE_OID } },
    { emailRelay: relay, sender, levels, outbox: waiting, snmpEnterprise: ENTERPRISE_OID },
  );
}

const listingShape = json.object({
  emailRelay: json.nullable(json.string()),
  sender: json.string(),
  levels: json.object({ info: json.array(json.string()), warn: json.array(json.string()), error: json.array(json.string()) }),
  outbox: json.array(json.object({ target: json.string(), waiting: json.integer(), held: json.integer(), lastError: json.nullable(json.string()) })),
  snmpEnterprise: json.string(),
});

/** `host[:port]`: a host name or address (IPv6 in brackets when a port follows); the catalog's SMTP port when none. */
const relay: ArgType<string> = {
  hint: '<smtp-host>[:<port>]',
  parse(value) {
    let parsed: { host: string; port: number };
    try {
      parsed = isIP(value) === 6 ? { host: value, port: defaultPort('smtp') } : parseRelay(value);
    } catch (error) {
      throw badInput('bad-relay', `<smtp-host>[:<port>]: ${(error as Error).message}`);
    }
    const name = host('<smtp-host>').parse(parsed.host);
    const shownHost = name.includes(':') ? `[${name}]` : name;
    return parsed.port === defaultPort('smtp') ? shownHost : `${shownHost}:${parsed.port}`;
  },
};

const level = choice('<info|warn|error>', NOTIFY_LEVELS);
const anyTarget = uriArg('<email/snmp-uri>', ['mailto', 'snmp']);
/** A target URI; a bare mail address is answered with the URI it should be (the scheme it lacks is mailto:). */
const target: ArgType<NetworkUri> = {
  ...anyTarget,
  parse(value) {
    if (/^[^\s:/@]+@[^\s:/@]+$/.test(value)) throw badInput('bad-uri', `<email/snmp-uri>: "${value}" has no scheme; a mail target is written mailto:${value}`);
    return anyTarget.parse(value);
  },
};

const commands: Command[] = [
  defineCommand({
    words: ['notify', 'add'],
    summary: 'Add the email or SNMP URI to a notification level',
    json: listingShape,
    args: [
      { name: 'level', type: level },
      { name: 'uris', type: target, rest: true },
    ],
    run(ctx, args) {
      addNotifyTargets(ctx.store, args.level, args.uris);
      return listing(ctx);
    },
  }),
  defineCommand({
    words: ['notify', 'del'],
    summary: 'Remove a URI from a notification level (what waits for it is dropped)',
    json: listingShape,
    args: [
      { name: 'level', type: level },
      { name: 'uri', type: target },
    ],
    run(ctx, args) {
      const removed = removeNotifyTarget(ctx.store, args.level, args.uri);
      if (!removed) throw badInput('no-such-target', `${shown(args.uri)} is not a ${args.level} target; see "notify list"`);
      // What waits for a URI that is no longer a target at any level is dropped.
      const text = formatUri(args.uri);
      if (!notifyTargets(ctx.store).some((t) => formatUri(t.uri) === text)) ctx.store.outbox.dropTarget(targetKey(text));
      return listing(ctx);
    },
  }),
  defineCommand({
    words: ['notify', 'list'],
    summary: 'List the notification targets, the mail relay and what waits in the outbox',
    json: listingShape,
    run: (ctx) => listing(ctx),
  }),
  defineCommand({
    words: ['notify', 'emailrelay'],
    summary: `Set the mail relay (host[:port], default port ${defaultPort('smtp')})`,
    json: listingShape,
    args: [{ name: 'relay', type: relay }],
    run(ctx, args) {
      ctx.store.settings.set('notify.emailrelay', args.relay);
      // Mail waiting for a relay goes now, not at its next retry.
      ctx.services.notify?.retryNow();
      return listing(ctx);
    },
  }),
  defineCommand({
    words: ['notify', 'test'],
    summary: 'Send a test notification of a level to every target it reaches',
    json: json.object({ event: json.integer(), level: json.string(), queued: json.array(json.string()) }),
    args: [{ name: 'level', type: level }],
    async run(ctx, args) {
      const events = ctx.services.events;
      if (!events) throw failure('no-events', 'the events subsystem is not running');
      const lvl = args.level;
      const targets = notifyTargets(ctx.store).filter((t) => NOTIFY_LEVELS.indexOf(lvl) >= NOTIFY_LEVELS.indexOf(t.level));
      if (targets.length === 0) throw failure('no-targets', `no notification target receives ${lvl}; add one with "notify add ${lvl} <uri>"`);
      const event = events.raise({ name: 'notify-test', level: lvl, text: `test notification (${lvl}) from ${ctx.caller.user}` });
      const queued = [...new Set(targets.map((t) => shown(t.uri)))];
      return reply.tree({ test: { event: event.id, level: lvl, queued: queued.join(' ') } }, { event: event.id, level: lvl, queued });
    },
  }),
];

export const notifyGroup: Group = { word: 'notify', summary: 'notifications control', commands };
