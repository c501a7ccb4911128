// `log ...`: the audit log of every command run on this node.

import { integer } from './argtypes.js';
import { json } from './json-shape.js';
import { badInput, reply, type ArgType, type Command, type Group } from './types.js';

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

const audit: Command = {
  words: ['log', 'audit'],
  summary: 'Show the audit log: who ran what, from where, when, and how it ended',
  json: json.array(
    json.object({ id: json.integer(), at: json.time(), user: json.string(), origin: json.string(), address: json.nullable(json.string()), words: json.string(), outcome: json.string(), exitStatus: json.integer(), message: json.nullable(json.string()) }),
  ),
  options: [
    { name: 'since', type: since, summary: 'only entries from then on' },
    { name: 'limit', type: integer('<n>', 1, 10_000), summary: 'at most this many entries (newest first; default 100)' },
  ],
  run(ctx, args) {
    const entries = ctx.store.auditLog({ since: args.since as string | undefined, limit: args.limit as number | undefined });
    return reply.table(
      ['time', 'user', 'from', 'command', 'result'],
      entries.map((e) => [e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), e.user, e.address ? `${e.origin} ${e.address}` : e.origin, e.words, e.exit_status === 0 ? e.outcome : `${e.outcome} (${e.exit_status})`]),
      entries.map((e) => ({ id: e.id, at: e.at, user: e.user, origin: e.origin, address: e.address ?? null, words: e.words, outcome: e.outcome, exitStatus: e.exit_status, message: e.message ?? null })),
    );
  },
};

export const logGroup: Group = { word: 'log', summary: 'manage system logs', commands: [audit] };
