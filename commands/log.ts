// `log ...`: the audit log of every command run on this node.

import { statSync } from 'node:fs';
import { AUDIT_RETENTION_KEY } from '../logs/audit.js';
import { sendLogBundle } from '../logs/bundle.js';
import { followFile } from '../logs/follow.js';
import { TransportError } from '../backup/transports/index.js';
import { LogNameError, logFiles, readLogTail, resolveLog, VIEW_MAX_BYTES, type LogFile } from '../logs/files.js';
import { backupLocations } from '../net/locations.js';
import { integer, text } from '../core/argtypes.js';
import { json } from '../core/json-shape.js';
import { formatTime } from '../core/time.js';
import { badInput, failure, PlatformError } from '../core/errors.js';
import { reply } from '../core/reply.js';
import { defineCommand, type ArgType, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';

/** An ISO date or date-time, or a relative time such as 2h, 30m, 7d. */
const since: ArgType<string> = {
  hint: '<time|2h|7d>',
  parse(value) {
    const relative = /^(\d+)([mhd])$/.exec(value);
    if (relative) {
      const ms = Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'];
      const from = new Date(Date.now() - ms);
      // A span past the start of the clock has no date to compare with.
      if (Number.isNaN(from.getTime()) || from.getTime() < 0) throw badInput('bad-time', `<time>: "${value}" reaches back before 1970; give a shorter span or a date`);
      return from.toISOString();
    }
    const date = new Date(value);
    if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(date.getTime())) throw badInput('bad-time', `<time>: "${value}" is neither an ISO date (2026-11-24 or 2026-11-24T10:00Z) nor a span like 2h or 7d`);
    return date.toISOString();
  },
};

/** The exit status an outcome stands for, for counted requests (which keep none of their own). */
const OUTCOME_STATUS: Record<string, number> = { ok: 0, 'bad-input': 2 };

const audit = defineCommand({
  words: ['log', 'audit'],
  summary: 'Show the audit log: who ran what, from where, when, and how it ended; requests of unproven callers as counts per minute',
  json: json.array(
    json.object({
      id: json.nullable(json.integer()),
      at: json.time(),
      user: json.string(),
      origin: json.string(),
      address: json.nullable(json.string()),
      words: json.string(),
      outcome: json.string(),
      exitStatus: json.integer(),
      message: json.nullable(json.string()),
      /** How many requests the row stands for: 1 for an entry, more for the counts of callers that proved nothing. */
      count: json.integer(),
    }),
  ),
  options: [
    { name: 'since', type: since, summary: 'only entries from then on' },
    { name: 'limit', type: integer('<n>', 1, 10_000), summary: 'at most this many entries (newest first; default 100)' },
  ],
  run(ctx, args) {
    const limit = args.limit ?? 100;
    const entries = ctx.store.audit.recent({ since: args.since, limit }).map((e) => ({ id: e.id, at: e.at, user: e.user, origin: e.origin, address: e.address ?? null, words: e.words, outcome: e.outcome, exitStatus: e.exit_status, message: e.message ?? null, count: 1 }));
    // Callers that proved nothing are counted per minute (their words are never kept): `user` is the kernel's uid of the peer.
    const counted = ctx.store.audit.unproven({ since: args.since, limit }).map((c) => ({
      id: null,
      at: c.minute,
      user: c.caller,
      origin: 'local',
      address: null,
      words: `${c.count} request${c.count === 1 ? '' : 's'} of an unproven caller in this minute (words not kept)`,
      outcome: c.outcome,
      exitStatus: OUTCOME_STATUS[c.outcome] ?? 1,
      message: null,
      count: c.count,
    }));
    const rows = [...entries, ...counted].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, limit);
    return reply.table(
      ['time', 'user', 'from', 'command', 'result'],
      rows.map((e) => [formatTime(e.at), e.user, e.address ? `${e.origin} ${e.address}` : e.origin, e.words, e.exitStatus === 0 ? e.outcome : `${e.outcome} (${e.exitStatus})`]),
      rows,
    );
  },
});


// ---------------------------------------------------------------------------
// The node's log files: list, view, follow, send, and the audit retention.

const logName: ArgType<string> = {
  hint: '<file>',
  parse(value) {
    if (value.length > 200 || /[\x00-\x1f\x7f]/.test(value)) throw badInput('bad-log-name', '<file>: not a log name; see "log list"');
    return value;
  },
  complete: (ctx) => logFiles(ctx.paths.logs).map((f) => f.name),
};

function resolved(ctx: Context, typed: string): LogFile {
  try {
    return resolveLog(logFiles(ctx.paths.logs), typed);
  } catch (error) {
    if (error instanceof LogNameError) throw badInput('no-such-log', error.message);
    throw error;
  }
}

function auditText(ctx: Context): string {
  return ctx.store
    .audit.recent({ limit: 10_000 })
    .reverse()
    .map((e) => `${e.at} ${e.user} ${e.address ? `${e.origin} ${e.address}` : e.origin} "${e.words}" ${e.outcome} ${e.exit_status}${e.message ? ` ${e.message}` : ''}`)
    .join('\n');
}

const list = defineCommand({
  words: ['log', 'list'],
  summary: 'List the logs: the platform\'s, nginx\'s and the audit log (rotated copies end in .N.gz)',
  json: json.array(json.object({ file: json.string(), bytes: json.nullable(json.integer()), modified: json.nullable(json.time()) })),
  run(ctx) {
    const files = logFiles(ctx.paths.logs).map((f) => {
      const stat = f.path ? statSync(f.path, { throwIfNoEntry: false }) : undefined;
      return { file: f.name, bytes: stat ? stat.size : null, modified: stat ? stat.mtime.toISOString() : null };
    });
    const rows = files.map((f) => [f.file, f.bytes === null ? '-' : String(f.bytes), f.modified ? formatTime(f.modified) : f.file === 'audit/audit.log' ? 'in the store' : '-']);
    return reply.table(['file', 'bytes', 'modified'], rows, files);
  },
});

const view = defineCommand({
  words: ['log', 'view'],
  summary: 'Show a log (its last 8 MB); any unique prefix of its name will do',
  json: json.object({ file: json.string(), text: json.string(), truncated: json.boolean() }),
  args: [{ name: 'file', type: logName }],
  run(ctx, args) {
    const file = resolved(ctx, args.file);
    if (!file.path) return reply.blocks([{ kind: 'page', title: file.name, text: auditText(ctx) }], { file: file.name, text: auditText(ctx), truncated: false });
    const { text, truncated } = readLogTail(file.path);
    return reply.blocks([...(truncated ? [{ kind: 'warning' as const, text: `(the last ${VIEW_MAX_BYTES / 1024 / 1024} MB of ${file.name})` }] : []), { kind: 'page', title: file.name, text: text.replace(/\n$/, '') }], { file: file.name, text, truncated });
  },
});

const follow = defineCommand({
  words: ['log', 'follow'],
  summary: 'Show lines as they are added to a log, until Ctrl-C',
  endless: true,
  json: json.object({ file: json.string() }),
  args: [{ name: 'file', type: logName }],
  async run(ctx, args) {
    const file = resolved(ctx, args.file);
    if (!file.path) throw badInput('not-followable', 'the audit log is in the store; use "log audit"');
    await followFile(file.path, (line) => ctx.progress(line), ctx.signal);
    return reply.blocks([], { file: file.name });
  },
});

const send = defineCommand({
  words: ['log', 'send'],
  summary: 'Send a compressed bundle of the logs to a backup location',
  json: json.object({ location: json.string(), file: json.string(), bytes: json.integer() }),
  args: [{ name: 'location', type: text('<location>') }],
  async run(ctx, args) {
    const location = backupLocations(ctx.store).find((l) => l.name === args.location);
    if (!location) throw badInput('no-such-location', `no backup location "${String(args.location).slice(0, 64)}"; see "backup list"`);
    try {
      const env = { store: ctx.store, paths: ctx.paths, ask: (question: { text: string; secret?: boolean }) => ctx.ask(question), signal: ctx.signal };
      const bundle = await sendLogBundle(env, location.uri, auditText(ctx));
      return reply.tree({ sent: { location: location.name, file: bundle.name, bytes: bundle.bytes } }, { location: location.name, file: bundle.name, bytes: bundle.bytes });
    } catch (error) {
      // The console's own errors (a password needed but no terminal to ask it on) stand as they are.
      if (error instanceof PlatformError) throw error;
      // Transport errors already say where, with any password hidden; anything else gets the location's name.
      const message = error instanceof TransportError ? error.message : `${location.name}: ${(error as Error).message}`;
      throw failure('send-failed', `the logs were not sent: ${message}`);
    }
  },
});

const retention = defineCommand({
  words: ['log', 'retention'],
  summary: 'Show or set how many days the audit log keeps its entries (default 365)',
  json: json.object({ retentionDays: json.integer() }),
  args: [{ name: 'days', type: integer('<days>', 1, 36_500), optional: true }],
  run(ctx, args) {
    if (args.days !== undefined) ctx.store.settings.set(AUDIT_RETENTION_KEY, args.days);
    const days = ctx.store.settings.get(AUDIT_RETENTION_KEY);
    return reply.tree({ audit: { 'retention days': days } }, { retentionDays: days });
  },
});

export const logGroup: Group = { word: 'log', summary: 'manage system logs', commands: [audit, list, view, follow, send, retention] };
