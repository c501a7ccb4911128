// `health` and `help`: the status banner, and the banner with the menu of
// command groups the caller may use; `help <words...>` the USAGE of a group
// or command.

import { bannerLines } from '../status/banner.js';
import type { StatusFacts } from '../status/conditions.js';
import { gatherFacts } from '../status/facts.js';
import { json, type JsonOf } from '../core/json-shape.js';
import type { Block, Reply } from '../core/reply.js';
import type { Context } from '../core/context.js';
import { defineCommand, type Group } from '../core/command.js';

/** `health --json`: the banner's facts and its warning lines, as data. */
export const healthShape = json.object({
  hostname: json.string(),
  roles: json.array(json.string()),
  load: json.number(),
  cpus: json.integer(),
  time: json.time(),
  uptimeSeconds: json.number(),
  utcOffsetMinutes: json.integer(),
  address: json.string(),
  ntp: json.array(json.string()),
  healthMonitored: json.boolean(),
  databaseBytes: json.nullable(json.integer()),
  /** Applications that should run but do not; null when the node runs none. */
  applicationDown: json.nullable(json.array(json.string())),
  certificate: json.nullable(json.object({ notBefore: json.time(), notAfter: json.time() })),
  maintenance: json.boolean(),
  lowDisk: json.array(json.object({ mount: json.string(), freePercent: json.number() })),
  /** The banner's warning lines (upper case in the console); health exits 1 when there is one. */
  warnings: json.array(json.string()),
  /** The banner as printed. */
  lines: json.array(json.string()),
});
export type HealthJson = JsonOf<typeof healthShape>;

async function banner(ctx: Context): Promise<{ blocks: Block[]; data: HealthJson }> {
  const now = new Date();
  const facts: StatusFacts = await gatherFacts(ctx.store, ctx.paths, ctx.services);
  const lines = bannerLines(facts, now);
  const blocks: Block[] = lines.map((line) => (line.warning ? { kind: 'warning', text: line.text } : { kind: 'text', text: line.text }));
  const data: HealthJson = {
    hostname: facts.hostname,
    roles: facts.roles,
    load: facts.load,
    cpus: facts.cpus,
    time: now.toISOString(),
    uptimeSeconds: facts.uptime,
    utcOffsetMinutes: facts.utcOffsetMinutes,
    address: facts.address,
    ntp: facts.ntp,
    healthMonitored: facts.healthMonitored,
    databaseBytes: facts.databaseBytes ?? null,
    applicationDown: facts.applicationDown ?? null,
    certificate: facts.certificate ? { notBefore: facts.certificate.notBefore.toISOString(), notAfter: facts.certificate.notAfter.toISOString() } : null,
    maintenance: facts.maintenance,
    lowDisk: facts.lowDisk,
    warnings: lines.filter((l) => l.warning).map((l) => l.text),
    lines: lines.map((l) => l.text),
  };
  return { blocks, data };
}

/** `health`; `diag bundle` runs it too, by this name. */
export const healthCommand = defineCommand({
  words: ['health'],
  summary: 'Show the status banner: host, load, network, certificate and service warnings (exit status 1 when it warns)',
  json: healthShape,
  async run(ctx): Promise<Reply> {
    const { blocks, data } = await banner(ctx);
    // Monitoring scripts read the exit status: 1 when the banner warns.
    return { blocks, data, exitStatus: data.warnings.length > 0 ? 1 : 0 };
  },
});

export const healthGroup: Group = { word: 'health', summary: 'show the status banner', listed: false, commands: [healthCommand] };

/** The group menu in two columns, names right-aligned, as the appliance prints it. */
export function menu(groups: readonly [string, string][]): string {
  const nameWidth = Math.max(0, ...groups.map(([word]) => word.length));
  const cells = groups.map(([word, summary]) => `${word.padStart(nameWidth)} - ${summary}`);
  const cellWidth = Math.max(0, ...cells.map((c) => c.length)) + 2;
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 2) lines.push((cells[i]!.padEnd(cellWidth) + (cells[i + 1] ?? '')).trimEnd());
  return lines.join('\n');
}

/** A `USAGE:` listing as JSON: the same pairs a bare group prints. */
export const usageShape = json.array(json.object({ syntax: json.string(), summary: json.string() }));

const helpShape = json.union(
  json.object({
    banner: json.array(json.string()),
    groups: json.array(json.object({ name: json.string(), summary: json.string() })),
  }),
  usageShape,
);

export interface HelpSources {
  /** The top-level groups the caller may use. */
  menu(ctx: Context): [string, string][];
  /** The USAGE pairs of the group or command the words name (with the caller's rights). */
  usage(ctx: Context, words: readonly string[]): [string, string][];
}

/** `help` needs the whole tree; it is built in index.ts to avoid an import cycle. */
export function helpGroup(sources: HelpSources): Group {
  return {
    word: 'help',
    summary: 'show the status banner and the command groups',
    listed: false,
    commands: [
      defineCommand({
        words: ['help'],
        summary: 'Show the status banner and the command groups; help <words...> shows the USAGE of a group or command',
        args: [{ name: 'words', type: { hint: '<command words>', parse: (w: string) => w }, rest: true, optional: true, summary: 'a group or command, e.g. "web cert"' }],
        json: helpShape,
        async run(ctx, args): Promise<Reply> {
          const words = args.words ?? [];
          if (words.length > 0) {
            const usage = sources.usage(ctx, words);
            return { blocks: [{ kind: 'usage', entries: usage }], data: usage.map(([syntax, summary]) => ({ syntax, summary })) };
          }
          const groups = sources.menu(ctx);
          const { blocks, data } = await banner(ctx);
          blocks.push({ kind: 'text', text: '' }, { kind: 'text', text: menu(groups) });
          return { blocks, data: { banner: data.lines, groups: groups.map(([name, summary]) => ({ name, summary })) } };
        },
      }),
    ],
  };
}
