// `backup ...`: backup locations (network URIs), backups of the node to them
// and restores from them, and the node's backup key. The work is done in
// backup/; this file parses, asks and renders.

import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { addBackupLocation, backupLocations, shown } from '../net/locations.js';
import { formatUri, uriArg } from '../net/uri.js';
import { BackupError, cleanBackups, createBackup, formatBytes, listAt, listEach, restoreBackup, verifyBackup, type BackupEnv, type DestinationListing, type ListedBackup } from '../backup/service.js';
import { generateKey, keyFingerprint, keyText, markShown, parseKeyText, readKey, shownAt, writeKey } from '../backup/key.js';
import { parseBackupName } from '../backup/manifest.js';
import { issueTokens, revokeTokensExcept } from '../users/tokens.js';
import { ADMINISTRATORS } from '../users/rights.js';
import { readCertificateDates } from '../status/facts.js';
import { hostname, integer, name, secret } from '../core/argtypes.js';
import { PLATFORM_VERSION } from './version.js';
import { json, messageShape } from '../core/json-shape.js';
import { formatTime } from '../core/time.js';
import { badInput, failure } from '../core/errors.js';
import { reply } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';

const location: ArgType<string> = { ...name('<location>'), complete: (ctx) => backupLocations(ctx.store).map((l) => l.name) };

/** The word `keep` of `backup clean <location> keep <n>`, as the reference spells it. */
const keepWord: ArgType<'keep'> = {
  hint: 'keep',
  choices: ['keep'],
  parse(value) {
    if (value !== 'keep') throw badInput('bad-syntax', 'backup clean <location> keep <n>');
    return value;
  },
};

const LOCATION_SCHEMES = ['sftp', 'scp', 'ftp', 'file'] as const;

/** The word `alternate` of `backup add <name> <uri> alternate <uri>`. */
const alternateWord: ArgType<'alternate'> = {
  hint: 'alternate',
  choices: ['alternate'],
  parse(value) {
    if (value !== 'alternate') throw badInput('bad-syntax', `backup add <name> <uri> [alternate <uri>]: "${value}" is not "alternate"`);
    return value;
  },
};

/** How long Tab may wait for a location's listing (an unreachable server must not hold the console). */
const COMPLETION_WAIT_MS = 5000;

const backupArg: ArgType<string> = {
  hint: '<backup>',
  // The archives at the location typed before it; no password is asked for a completion.
  async complete(ctx, before) {
    const at = before.find((word) => backupLocations(ctx.store).some((l) => l.name === word));
    if (!at) return [];
    const env = { ...envOf(ctx), signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(COMPLETION_WAIT_MS)]), ask: () => Promise.reject(new BackupError('needs-password', 'a completion asks for no password')) };
    return listAt(env, at).then(
      (found) => found.filter((b) => !b.problem).map((b) => b.archive),
      () => [],
    );
  },
  parse(value) {
    if (!parseBackupName(value)) throw badInput('bad-backup-name', `<backup>: "${value}" is not a backup's name (<hostname>-<YYYYMMDDTHHMMSSZ>.psbk)`);
    return value;
  },
};

function envOf(ctx: Context): BackupEnv {
  return {
    store: ctx.store,
    paths: ctx.paths,
    productVersion: PLATFORM_VERSION,
    apps: () => ctx.services.apps?.apps() ?? [],
    progress: (text) => ctx.progress(text),
    ask: (question) => ctx.ask(question),
    signal: ctx.signal,
  };
}

/** Backup errors become the console's errors: bad input exits 2, failures 1. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BackupError) throw error.input ? badInput(error.code, error.message) : failure(error.code, error.message);
    throw error;
  }
}

function nodeKey(ctx: Context): Buffer {
  const key = readKey(ctx.paths);
  if (!key) throw failure('no-backup-key', 'this node has no backup key yet: run "backup key generate", and keep what "backup key show" prints offline');
  return key;
}

/** A file:// location is a folder of this node that exists and platformd can write (a mounted disk or share). */
function checkLocalFolder(folder: string): void {
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    throw badInput('no-such-folder', `${folder} does not exist on this node; create it (or mount the disk) first`);
  }
  if (!isFolder) throw badInput('not-a-folder', `${folder} is not a folder`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw badInput('folder-not-writable', `${folder} cannot be written by platformd`);
  }
}

/** Restarts what reads the restored store and files, so the node serves them. */
async function restartDependents(ctx: Context): Promise<void> {
  const { services } = ctx;
  // The users are the backup's now: a token of one that is gone proves nobody.
  const users = [...ADMINISTRATORS, ...ctx.store.users.names()];
  revokeTokensExcept(ctx.paths, users);
  await issueTokens(ctx.paths, users);
  await services.firewall?.reconcile(true);
  if (services.web) {
    await services.web.reconfigure();
    const chain = readFileSync(ctx.paths.webCertificate, 'utf8');
    if (services.web.nginx.running()) await services.web.waitForHandshake(chain, 5000);
  }
  if (services.cluster) {
    await services.cluster.stop();
    await services.cluster.start();
  }
}

/** A destination that could not be listed, in words; undefined when every destination answered. */
const unreachable = (each: DestinationListing[]) => {
  const down = each.filter((d) => d.error !== undefined);
  return down.length ? down.map((d) => `${d.destination} ${d.uri} not reachable: ${d.error}`).join('; ') : undefined;
};
const newestFirst = (list: ListedBackup[]) => list.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));

const listLocations = async (ctx: Context) => {
  const list = backupLocations(ctx.store);
  if (!list.length) return reply.tree({ locations: 'none' }, { locations: [] });
  const value: Record<string, { [key: string]: string | string[] }> = {};
  const data: { name: string; uri: string; alternate: string | null; backups: ReturnType<typeof asJson>[] | null; error: string | null }[] = [];
  for (const l of list) {
    // Listing every location must not stop at one that cannot be reached, nor ask for passwords.
    const env = { ...envOf(ctx), ask: async () => Promise.reject(new BackupError('needs-password', 'needs a password: see "backup list ' + l.name + '"')) };
    const each = await listEach(env, l.name).catch((error: Error): DestinationListing[] => [{ destination: 'primary', uri: shown(l.uri), error: error.message }]);
    const error = unreachable(each) ?? null;
    const found = each.every((d) => d.backups === undefined) ? null : newestFirst(each.flatMap((d) => d.backups ?? []));
    const marked = (b: ListedBackup) => `${b.archive} (${formatBytes(b.size)}${b.verified ? ', verified' : ''}${b.problem ? `, ${b.problem}` : ''}${l.alternate ? `, at the ${b.destination}` : ''})`;
    const backups = found ? (found.length ? found.map(marked) : 'none') : error!;
    value[l.name] = { uri: shown(l.uri), ...(l.alternate ? { alternate: shown(l.alternate) } : {}), backups, ...(found && error ? { unreachable: error } : {}) };
    data.push({ name: l.name, uri: shown(l.uri), alternate: l.alternate ? shown(l.alternate) : null, backups: found?.map(asJson) ?? null, error });
  }
  return reply.tree({ locations: value }, { locations: data });
};

const backupShape = json.object({ archive: json.string(), node: json.string(), time: json.time(), size: json.integer(), verified: json.boolean(), problem: json.nullable(json.string()), destination: json.oneOf('primary', 'alternate') });
const listedShape = json.union(
  json.object({ locations: json.array(json.object({ name: json.string(), uri: json.string(), alternate: json.nullable(json.string()), backups: json.nullable(json.array(backupShape)), error: json.nullable(json.string()) })) }),
  json.object({ backups: json.array(backupShape), unreachable: json.nullable(json.string()) }),
);
const keyShape = json.object({ keyId: json.string(), key: json.nullable(json.string()), message: json.string() });
const asJson = (b: ListedBackup) => ({ archive: b.archive, node: b.node, time: b.time, size: b.size, verified: b.verified, problem: b.problem ?? null, destination: b.destination });

const commands: Command[] = [
  defineCommand({
    words: ['backup', 'add'],
    summary: 'Add a backup location: backup add <name> <sftp|scp|ftp|file URI> [alternate <URI>] (used when the first cannot be reached)',
    json: json.object({ name: json.string(), uri: json.string(), alternate: json.nullable(json.string()) }),
    args: [
      { name: 'name', type: location },
      { name: 'uri', type: uriArg('<uri>', LOCATION_SCHEMES) },
      { name: 'alternateWord', type: alternateWord, optional: true },
      { name: 'alternate', type: uriArg('<alternate-uri>', LOCATION_SCHEMES), optional: true },
    ],
    run(ctx, args) {
      const { uri, alternate } = args;
      if (args.alternateWord && !alternate) throw badInput('bad-syntax', 'backup add <name> <uri> alternate <uri>: the alternate URI is missing');
      const exists = ctx.store.locations.has(args.name);
      if (exists) throw badInput('duplicate-location', `a backup location named ${args.name} exists; delete it first`);
      for (const each of [uri, alternate]) if (each?.scheme === 'file') checkLocalFolder(each.path ?? '/');
      if (alternate && formatUri(alternate) === formatUri(uri)) throw badInput('same-alternate', 'the alternate is the same URI as the location: give another destination');
      addBackupLocation(ctx.store, args.name, uri, alternate);
      const tree = alternate ? { [args.name]: shown(uri), alternate: shown(alternate) } : { [args.name]: shown(uri) };
      return reply.tree(tree, { name: args.name, uri: shown(uri), alternate: alternate ? shown(alternate) : null });
    },
  }),
  defineCommand({
    words: ['backup', 'list'],
    summary: 'List the backup locations and their backups, or the backups at one location',
    args: [{ name: 'location', type: location, optional: true }],
    json: listedShape,
    async run(ctx, { location: at }) {
      if (at === undefined) return listLocations(ctx);
      const each = await guarded(() => listEach(envOf(ctx), at));
      const down = unreachable(each);
      if (each.every((d) => d.backups === undefined)) throw failure('transfer-failed', down!);
      const found = newestFirst(each.flatMap((d) => d.backups ?? []));
      const rows = found.map((b) => [b.archive, b.node, formatTime(b.time), formatBytes(b.size), b.problem ? `no: ${b.problem}` : b.verified ? 'yes' : 'not yet', b.destination]);
      return reply.blocks(
        [{ kind: 'table', columns: ['backup', 'node', 'date', 'size', 'verified', 'destination'], rows }, ...(down ? [{ kind: 'text' as const, text: down }] : [])],
        { backups: found.map(asJson), unreachable: down ?? null },
      );
    },
  }),
  defineCommand({
    words: ['backup', 'del'],
    summary: 'Delete a backup location (never the backups stored there)',
    json: messageShape,
    args: [{ name: 'name', type: location }],
    run(ctx, args) {
      const removed = ctx.store.locations.remove(args.name);
      if (!removed) throw badInput('no-such-location', `no backup location named ${args.name}; see "backup list"`);
      return reply.text(`deleted backup location ${args.name}; the backups stored there are untouched`);
    },
  }),
  defineCommand({
    words: ['backup', 'create'],
    summary: 'Back up the node (store, certificates, cluster identity, keys, app data) to a location',
    args: [{ name: 'location', type: location }],
    json: json.object({ backup: json.string(), location: json.string(), destination: json.oneOf('primary', 'alternate'), uri: json.string(), skipped: json.array(json.string()), size: json.integer(), sha256: json.string() }),
    async run(ctx, args) {
      const key = nodeKey(ctx);
      const created = await guarded(() => createBackup(envOf(ctx), args.location, key));
      const where = `${created.destination} ${created.uri}`;
      const tree = { backup: created.archive, location: created.location, 'written to': where, ...(created.skipped.length ? { 'not written to': created.skipped.join('; ') } : {}), size: formatBytes(created.size), sha256: created.sha256 };
      return reply.tree(tree, { backup: created.archive, location: created.location, destination: created.destination, uri: created.uri, skipped: created.skipped, size: created.size, sha256: created.sha256 });
    },
  }),
  defineCommand({
    words: ['backup', 'verify'],
    summary: "Check a backup at a location (authentication, manifest, store) without restoring it",
    args: [
      { name: 'location', type: location },
      { name: 'backup', type: backupArg, optional: true },
    ],
    options: [{ name: 'from', type: hostname(), summary: "another node's newest backup" }],
    json: json.object({ archive: json.string(), node: json.string(), roles: json.array(json.string()), created: json.time(), productVersion: json.string(), schemaVersion: json.integer() }),
    async run(ctx, args) {
      const key = nodeKey(ctx);
      const manifest = await guarded(() => verifyBackup(envOf(ctx), args.location, key, { archive: args.backup, from: args.from }));
      return reply.tree(
        { verified: manifest.archive, node: manifest.node, roles: manifest.roles.join(','), created: formatTime(manifest.createdAt), product: manifest.productVersion, schema: manifest.schemaVersion },
        { archive: manifest.archive, node: manifest.node, roles: manifest.roles, created: manifest.createdAt, productVersion: manifest.productVersion, schemaVersion: manifest.schemaVersion },
      );
    },
  }),
  defineCommand({
    words: ['backup', 'restore'],
    summary: "Restore the node from a backup (this node's newest by default)",
    args: [
      { name: 'location', type: location },
      { name: 'backup', type: backupArg, optional: true },
    ],
    options: [{ name: 'from', type: hostname(), summary: "restore another node's backup onto this one" }],
    json: json.object({ restored: json.string(), node: json.string(), created: json.time(), webCertificateValidTo: json.nullable(json.time()) }),
    // Asked in run, once the backup is chosen: the question names it.
    async run(ctx, args) {
      let key = readKey(ctx.paths);
      let imported = false;
      if (!key) {
        // A fresh node: the administrator kept the key offline.
        const text = await ctx.ask({ text: 'backup key (as "backup key show" printed it)', secret: true });
        key = parseKeyText(text);
        if (!key) throw badInput('bad-backup-key', 'that is not a backup key (psbk1-...)');
        imported = true;
      }
      const restoreKey = key;
      const manifest = await guarded(() =>
        restoreBackup(envOf(ctx), args.location, restoreKey, {
          archive: args.backup,
          from: args.from,
          restart: () => restartDependents(ctx),
          async confirm(chosen) {
            const question = `Replace this node's configuration, certificates and keys with ${chosen.archive} (${chosen.node}, ${formatTime(chosen.createdAt)}) from ${args.location}?`;
            if (!(await ctx.confirm(question))) throw new BackupError('not-confirmed', ctx.caller.interactive ? 'cancelled' : `${question} — not confirmed; add --yes to confirm`);
          },
        }),
      );
      if (imported) writeKey(ctx.paths, restoreKey, true);
      const dates = readCertificateDates(ctx.paths.webCertificate);
      return reply.tree(
        { restored: manifest.archive, node: manifest.node, created: formatTime(manifest.createdAt), 'web certificate valid to': dates ? formatTime(dates.notAfter) : 'none' },
        { restored: manifest.archive, node: manifest.node, created: manifest.createdAt, webCertificateValidTo: dates?.notAfter.toISOString() ?? null },
      );
    },
  }),
  defineCommand({
    words: ['backup', 'clean'],
    summary: 'Keep only the newest <n> backups of each node at a location',
    args: [
      { name: 'location', type: location },
      { name: 'keep', type: keepWord },
      { name: 'n', type: integer('<n>', 1, 1000) },
    ],
    json: json.object({ removed: json.array(json.string()) }),
    confirm: (args) => `Delete all but the newest ${args.n} backups of each node at ${args.location}?`,
    async run(ctx, args) {
      const removed = await guarded(() => cleanBackups(envOf(ctx), args.location, args.n));
      return reply.tree({ removed: removed.length ? removed : 'none' }, { removed });
    },
  }),
  defineCommand({
    words: ['backup', 'key', 'generate'],
    summary: "Make the node's backup key (AES-256); keep it offline with \"backup key show\"",
    json: keyShape,
    async run(ctx) {
      if (readKey(ctx.paths) && !(await ctx.confirm('The node has a backup key; replace it? Backups made with the old key need the old key to restore.'))) {
        throw failure('not-confirmed', 'kept the existing backup key');
      }
      const key = generateKey(ctx.paths);
      const next = 'run "backup key show" once and keep what it prints offline';
      return reply.tree({ 'backup key': 'generated', 'key id': keyFingerprint(key), next }, { keyId: keyFingerprint(key), key: null, message: `generated; ${next}` });
    },
  }),
  defineCommand({
    words: ['backup', 'key', 'show'],
    summary: 'Print the backup key, once, to keep offline (a fresh node needs it to restore)',
    printsSecret: true,
    json: keyShape,
    async run(ctx) {
      const key = nodeKey(ctx);
      const when = shownAt(ctx.paths);
      if (when) throw failure('already-shown', `the backup key was shown on ${formatTime(when)}, and "backup key show" printed only once: to print it again, an administrator at the console runs "backup key export"`, ['use the copy kept offline, or "backup key generate" a new one']);
      markShown(ctx.paths);
      const note = 'keep it offline: it is not shown again';
      return reply.tree({ 'backup key': keyText(key), 'key id': keyFingerprint(key), note }, { keyId: keyFingerprint(key), key: keyText(key), message: note });
    },
  }),
  defineCommand({
    words: ['backup', 'key', 'export'],
    summary: 'Print the backup key again, after a question, to an administrator at the console',
    printsSecret: true,
    json: keyShape,
    async run(ctx) {
      const key = nodeKey(ctx);
      // What a script or a scheduled job prints is kept (a file, the job's log in the store): the key goes to a person's screen only.
      if (!ctx.caller.interactive) throw badInput('needs-terminal', 'the backup key is printed only to a person at the console: run "backup key export" in an interactive session (ssh -t)');
      if (!(await ctx.confirm('This prints the backup key on the screen: whoever sees it can read every backup of this node. Print it?'))) throw failure('not-confirmed', 'the backup key was not printed');
      if (!shownAt(ctx.paths)) markShown(ctx.paths);
      const note = 'keep it offline, and clear the screen once it is copied';
      return reply.tree({ 'backup key': keyText(key), 'key id': keyFingerprint(key), note }, { keyId: keyFingerprint(key), key: keyText(key), message: note });
    },
  }),
  defineCommand({
    words: ['backup', 'key', 'import'],
    summary: 'Install a backup key kept offline (to restore, or to share one key between nodes)',
    args: [{ name: 'key', type: secret('<key>'), optional: true }],
    json: keyShape,
    async run(ctx, args) {
      const text = args.key ?? (await ctx.ask({ text: 'backup key', secret: true }));
      const key = parseKeyText(text);
      if (!key) throw badInput('bad-backup-key', 'that is not a backup key (psbk1- followed by 43 characters)');
      if (readKey(ctx.paths) && !(await ctx.confirm('The node has a backup key; replace it?'))) throw failure('not-confirmed', 'kept the existing backup key');
      writeKey(ctx.paths, key, true);
      return reply.tree({ 'backup key': 'imported', 'key id': keyFingerprint(key) }, { keyId: keyFingerprint(key), key: null, message: 'imported' });
    },
  }),
];

export const backupGroup: Group = { word: 'backup', summary: 'manage backups', commands };
