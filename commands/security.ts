// `security ...`: the node's OS security updates from the one package source
// the administrator configured (updates/): `security source` (where from, and
// the key that signs it), `security check` (what is pending; the banner says
// SECURITY UPDATES while any are), `security update` (installs them and
// restarts exactly the services they touch). apt's own timers stay off on an
// appliance: `schedule add <job> security update` is the schedule.

import { readdirSync } from 'node:fs';
import { text } from '../core/argtypes.js';
import { badInput } from '../core/errors.js';
import { json } from '../core/json-shape.js';
import { reply, type Block, type Json } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import type { Context } from '../core/context.js';
import { formatTime } from '../core/time.js';
import { formatUri, uriArg } from '../net/uri.js';
import { readBoundedFile } from '../os/files.js';
import { fileIn } from '../os/names.js';
import { osRoot } from '../os/host.js';
import { forgetLists } from '../updates/apt.js';
import { restartPlatformdLater, restartUnit, unitsFor, PLATFORMD_UNIT } from '../updates/restarts.js';
import { checkComponents, checkSigningKey, checkSourceUri, checkSuite, DEFAULT_COMPONENTS, DEFAULT_SUITE, MAX_KEY_BYTES, sourceOf } from '../updates/source.js';
import { checkUpdates, installUpdates, placeOf, rebootRequired } from '../updates/security.js';
import type { PendingUpdate, UpdateSource } from '../store/settings.js';

const sourceUri = uriArg('<uri>', ['http', 'https', 'file']);

/** The words after the URI: `suite <s>`, `components <list>`, `key <file in media>`, each at most once. */
const SOURCE_KEYWORDS = ['suite', 'components', 'key'] as const;
type SourceKeyword = (typeof SOURCE_KEYWORDS)[number];
const sourceWord: ArgType<string> = {
  ...text('suite <suite> | components <list> | key <file>'),
  complete: (ctx, before) => {
    const last = before[before.length - 1];
    if (last === 'key') {
      try {
        return readdirSync(ctx.paths.media);
      } catch {
        return [];
      }
    }
    return (before.length % 2 === 1 ? SOURCE_KEYWORDS.filter((k) => !before.includes(k)) : []) as string[];
  },
};

function sourceOptions(words: readonly string[]): Partial<Record<SourceKeyword, string>> {
  const out: Partial<Record<SourceKeyword, string>> = {};
  for (let i = 0; i < words.length; i += 2) {
    const keyword = words[i] as SourceKeyword;
    if (!SOURCE_KEYWORDS.includes(keyword)) throw badInput('bad-argument', `"${words[i]}" is not one of ${SOURCE_KEYWORDS.join(', ')}: security source <uri> [suite <suite>] [components <list>] [key <file in media>]`);
    if (out[keyword] !== undefined) throw badInput('bad-argument', `${keyword} is given twice`);
    const value = words[i + 1];
    if (value === undefined) throw badInput('missing-argument', `${keyword} needs a value: security source <uri> [suite <suite>] [components <list>] [key <file in media>]`);
    out[keyword] = value;
  }
  return out;
}

const sourceShape = json.object({
  uri: json.nullable(json.string()),
  suite: json.nullable(json.string()),
  components: json.array(json.string()),
  keyFingerprints: json.array(json.string()),
});

function sourceReply(source: UpdateSource | undefined) {
  if (!source) return reply.tree({ source: 'not set (security source <uri> [suite <suite>] [components <list>] key <file in media>)' }, { uri: null, suite: null, components: [], keyFingerprints: [] });
  return reply.tree(
    { uri: source.uri, suite: source.suite, components: source.components.join(' '), 'key fingerprints': source.fingerprints.join(' ') },
    { uri: source.uri, suite: source.suite, components: source.components, keyFingerprints: source.fingerprints },
  );
}

const pendingShape = json.object({ package: json.string(), installed: json.string(), candidate: json.string() });
const checkShape = json.object({ checkedAt: json.time(), source: json.string(), updates: json.array(pendingShape), rebootRequired: json.boolean() });

const pendingTable = (updates: readonly PendingUpdate[]): Block => ({ kind: 'table', columns: ['package', 'installed', 'candidate'], rows: updates.map((u) => [u.package, u.installed, u.candidate]) });
const rebootLine = (): Block[] => (rebootRequired() ? [{ kind: 'warning', text: 'REBOOT REQUIRED: an installed update runs only after "system reboot"' }] : []);

const updateShape = json.object({
  installed: json.array(json.object({ package: json.string(), from: json.string(), to: json.string() })),
  restarted: json.array(json.string()),
  notRestarted: json.array(json.object({ unit: json.string(), reason: json.string() })),
  stillPending: json.array(pendingShape),
  rebootRequired: json.boolean(),
});

/** Restarts the units of what changed: on an appliance through systemd (platformd last, after its answer); elsewhere nothing runs as a unit, and the answer says so. */
async function restartServices(ctx: Context, packages: readonly string[]): Promise<{ restarted: string[]; notRestarted: { unit: string; reason: string }[] }> {
  const units = unitsFor(packages);
  const onAppliance = ctx.store.settings.get('daemon')?.appliance === true && osRoot() === '/';
  if (!onAppliance) return { restarted: [], notRestarted: units.map((unit) => ({ unit, reason: `not an appliance: the OS root is ${osRoot()}` })) };
  const restarted: string[] = [];
  const notRestarted: { unit: string; reason: string }[] = [];
  for (const unit of units) {
    if (unit === PLATFORMD_UNIT) {
      restartPlatformdLater((message) => process.stderr.write(`${new Date().toISOString()} error ${message}\n`));
      restarted.push(`${unit} (in a moment, after this answer)`);
      continue;
    }
    ctx.progress(`restarting ${unit}`);
    const problem = await restartUnit(unit);
    if (problem) notRestarted.push({ unit, reason: problem });
    else restarted.push(unit);
  }
  return { restarted, notRestarted };
}

const commands: Command[] = [
  defineCommand({
    words: ['security', 'source'],
    summary: 'Show, or set, where OS security updates come from: an apt repository (http://, https:// or file://) and the key that signs it',
    json: sourceShape,
    args: [
      { name: 'uri', type: sourceUri, optional: true },
      { name: 'settings', type: sourceWord, optional: true, rest: true },
    ],
    async run(ctx, args) {
      const current = sourceOf(ctx.store);
      if (!args.uri) {
        if (args.settings?.length) throw badInput('missing-argument', 'security source <uri> [suite <suite>] [components <list>] [key <file in media>]');
        return sourceReply(current);
      }
      const uri = checkSourceUri(formatUri(args.uri));
      const given = sourceOptions(args.settings ?? []);
      const suite = checkSuite(given.suite ?? current?.suite ?? DEFAULT_SUITE);
      const components = given.components !== undefined ? checkComponents(given.components) : (current?.components ?? DEFAULT_COMPONENTS);
      let key = current ? { key: current.key, fingerprints: current.fingerprints } : undefined;
      if (given.key !== undefined) {
        const label = `media/${given.key}`;
        const bytes = await readBoundedFile(fileIn(ctx.paths.media, given.key, 'media file name'), { maxBytes: MAX_KEY_BYTES, label });
        const checked = await checkSigningKey(bytes, label, ctx.signal);
        key = { key: checked.keyring.toString('base64'), fingerprints: checked.fingerprints };
      }
      if (!key) throw badInput('missing-key', "a package source needs the key that signs it: upload the repository's public key to media and add key <file>", ['e.g. security source https://updates.example.net/debian suite bookworm-security key archive-key.asc']);
      const source: UpdateSource = { uri, suite, components, ...key };
      ctx.store.settings.set('security.source', source);
      // What an earlier source said is no answer for this one.
      forgetLists(placeOf(ctx.paths.home));
      ctx.store.settings.set('security.lastCheck', undefined);
      return sourceReply(source);
    },
  }),
  defineCommand({
    words: ['security', 'source', 'del'],
    summary: 'Remove the update source (and what its last check found)',
    json: sourceShape,
    run(ctx) {
      ctx.store.settings.set('security.source', undefined);
      ctx.store.settings.set('security.lastCheck', undefined);
      forgetLists(placeOf(ctx.paths.home));
      return sourceReply(undefined);
    },
  }),
  defineCommand({
    words: ['security', 'check'],
    summary: 'List the OS updates pending from the update source (package, installed and candidate version)',
    json: checkShape,
    async run(ctx) {
      const check = await checkUpdates({ store: ctx.store, home: ctx.paths.home, signal: ctx.signal, progress: (t) => ctx.progress(t) });
      const n = check.updates.length;
      const summary = n === 0 ? `no updates pending from ${check.source} (checked ${formatTime(new Date(check.at))})` : `${n} update${n === 1 ? '' : 's'} pending from ${check.source} (checked ${formatTime(new Date(check.at))}); install with "security update"`;
      const blocks: Block[] = [...(n ? [pendingTable(check.updates)] : []), { kind: 'text', text: summary }, ...rebootLine()];
      const data: Json = { checkedAt: check.at, source: check.source, updates: check.updates.map((u) => ({ ...u })), rebootRequired: rebootRequired() };
      return reply.blocks(blocks, data);
    },
  }),
  defineCommand({
    words: ['security', 'update'],
    summary: 'Install the pending OS updates from the update source and restart the services they change',
    confirm: 'Install the pending security updates and restart the services they change?',
    json: updateShape,
    async run(ctx) {
      const outcome = await installUpdates({ store: ctx.store, home: ctx.paths.home, signal: ctx.signal, progress: (t) => ctx.progress(t) });
      const { restarted, notRestarted } = await restartServices(
        ctx,
        outcome.installed.map((i) => i.package),
      );
      const blocks: Block[] = [];
      if (outcome.installed.length) blocks.push({ kind: 'table', columns: ['package', 'from', 'to'], rows: outcome.installed.map((i) => [i.package, i.from, i.to]) });
      blocks.push({ kind: 'text', text: outcome.installed.length ? `installed ${outcome.installed.length} update${outcome.installed.length === 1 ? '' : 's'}` : 'no updates pending: nothing installed' });
      if (restarted.length) blocks.push({ kind: 'text', text: `restarted: ${restarted.join(', ')}` });
      for (const { unit, reason } of notRestarted) blocks.push({ kind: 'warning', text: `not restarted: ${unit} (${reason})` });
      if (outcome.stillPending.length) blocks.push({ kind: 'warning', text: `still pending (apt held them back): ${outcome.stillPending.map((u) => u.package).join(', ')}` });
      blocks.push(...rebootLine());
      const data: Json = {
        installed: outcome.installed.map((i) => ({ ...i })),
        restarted,
        notRestarted: notRestarted.map((n) => ({ ...n })),
        stillPending: outcome.stillPending.map((u) => ({ ...u })),
        rebootRequired: outcome.rebootRequired,
      };
      // On an appliance a unit that would not restart still runs the old code: a failure to act on.
      const onAppliance = ctx.store.settings.get('daemon')?.appliance === true;
      return reply.blocks(blocks, data, onAppliance && notRestarted.length > 0 ? 1 : 0);
    },
  }),
];

export const securityGroup: Group = {
  word: 'security',
  summary: 'OS security updates: their source, the updates pending, installing them',
  commands,
};
