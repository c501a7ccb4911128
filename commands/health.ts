// `health` and `help`: the status banner, and the banner with the menu of
// command groups the caller may use.

import { bannerLines } from '../status/banner.js';
import { gatherFacts } from '../status/facts.js';
import type { Block, Context, Group, Json, Reply } from './types.js';

async function bannerBlocks(ctx: Context): Promise<Block[]> {
  const lines = bannerLines(await gatherFacts(ctx.store, ctx.paths, ctx.services), new Date());
  return lines.map((line) => (line.warning ? { kind: 'warning', text: line.text } : { kind: 'text', text: line.text }));
}

const asData = (blocks: Block[]): Json => blocks.map((b) => ('text' in b ? b.text : ''));

export const healthGroup: Group = {
  word: 'health',
  summary: 'show the status banner',
  listed: false,
  commands: [
    {
      words: ['health'],
      summary: 'Show the status banner: host, load, network, certificate and service warnings',
      async run(ctx): Promise<Reply> {
        const blocks = await bannerBlocks(ctx);
        return { blocks, data: asData(blocks) };
      },
    },
  ],
};

/** The group menu in two columns, names right-aligned, as the appliance prints it. */
export function menu(groups: readonly [string, string][]): string {
  const nameWidth = Math.max(0, ...groups.map(([word]) => word.length));
  const cells = groups.map(([word, summary]) => `${word.padStart(nameWidth)} - ${summary}`);
  const cellWidth = Math.max(0, ...cells.map((c) => c.length)) + 2;
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 2) lines.push((cells[i]!.padEnd(cellWidth) + (cells[i + 1] ?? '')).trimEnd());
  return lines.join('\n');
}

/** `help` needs the whole tree; it is built in index.ts to avoid an import cycle. */
export function helpGroup(menuFor: (ctx: Context) => [string, string][]): Group {
  return {
    word: 'help',
    summary: 'show the status banner and the command groups',
    listed: false,
    commands: [
      {
        words: ['help'],
        summary: 'Show the status banner and the command groups',
        async run(ctx): Promise<Reply> {
          const groups = menuFor(ctx);
          const blocks = await bannerBlocks(ctx);
          blocks.push({ kind: 'text', text: '' }, { kind: 'text', text: menu(groups) });
          return { blocks, data: { banner: asData(blocks.slice(0, -2)), groups: Object.fromEntries(groups) } };
        },
      },
    ],
  };
}
