// defineCommand: `run` sees the arguments the parser built, typed from the
// command's own declarations (checked by tsc, and at run time here).
import { describe, expect, expectTypeOf, it } from 'vitest';
import { choice, integer, text } from '../../core/argtypes.js';
import { defineCommand } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { reply } from '../../core/reply.js';
import { buildTree, parse } from '../../commands/tree.js';

describe('defineCommand', () => {
  it('hands run the parsed values under their declared names and types', async () => {
    const seen: unknown[] = [];
    const command = defineCommand({
      words: ['demo', 'add'],
      summary: 'demo',
      args: [
        { name: 'host', type: text('<host>') },
        { name: 'weight', type: integer('<weight>', 0, 100), optional: true },
        { name: 'rest', type: choice('<kind>', ['a', 'b'] as const), rest: true, optional: true },
      ],
      options: [
        { name: 'force', type: text(), summary: 'force', flag: true },
        { name: 'port', type: integer('<port>', 1, 65535), summary: 'port' },
      ],
      confirm: ({ host }) => `add ${host}?`,
      run(_ctx, args) {
        expectTypeOf(args.host).toEqualTypeOf<string>();
        expectTypeOf(args.weight).toEqualTypeOf<number | undefined>();
        expectTypeOf(args.rest).toEqualTypeOf<('a' | 'b')[]>();
        expectTypeOf(args.force).toEqualTypeOf<true | undefined>();
        expectTypeOf(args.port).toEqualTypeOf<number | undefined>();
        seen.push(args);
        return reply.text('ok');
      },
    });
    const tree = buildTree([{ word: 'demo', summary: 'demo', commands: [command] }]);
    const parsed = parse(tree, ['demo', 'add', '--force', '--port', '8080', 'web1', '7', 'a', 'b']);
    if (parsed.kind !== 'command') throw new Error(`parsed as ${parsed.kind}`);
    expect(typeof command.confirm === 'function' && command.confirm(parsed.args)).toBe('add web1?');
    await command.run({} as Context, parsed.args);
    expect(seen).toEqual([{ host: 'web1', weight: 7, rest: ['a', 'b'], force: true, port: 8080 }]);
  });
});
