// defineCommand: `run` sees the arguments the parser built, typed from the
// command's own declarations (checked by tsc, and at run time here).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { choice, integer, text } from '../../core/argtypes.js';
import { defineCommand } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { reply } from '../../core/reply.js';
import { buildTree, parse } from '../../commands/tree.js';
import { ROOT } from '../support/daemon.js';

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

/**
 * The `as` casts applied to a command's arguments in `source`: on `args.x`,
 * `args['x']`, `args` itself, or a name destructured from the arguments in
 * `run(ctx, { x })` / `confirm: ({ x }) =>`. Each hit as `line: text`.
 */
export function argumentCasts(source: string): string[] {
  const destructured = [...source.matchAll(/(?:run\(\s*\w+\s*,\s*|confirm:\s*\(\s*)\{([^}]*)\}\s*\)/g)].flatMap((m) => m[1]!.split(',').map((part) => part.split(':').pop()!.trim()).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name)));
  const names = ['args', 'values', ...new Set(destructured)].join('|');
  const cast = new RegExp(`(?<![\\w$.])(?:${names})(?:\\.[\\w$]+|\\[[^\\]]+\\])?\\)?\\s+as\\s+(?!const\\b)`);
  return source.split('\n').flatMap((line, i) => (!/^\s*import\s/.test(line) && cast.test(line) ? [`${i + 1}: ${line.trim()}`] : []));
}

describe('commands/ reads its arguments as typed', () => {
  it('finds the casts it looks for', () => {
    const sample = [
      'const a = args.name as string;',
      "const b = (args['data-centre'] as string | undefined) ?? x;",
      'run(ctx, { ip, code: given }) { return given as string; }',
      "confirm: ({ ip }) => `Remove ${ip as string}?`,",
      'const ok = args.name;',
      "const c = ['a', 'b'] as const;",
    ].join('\n');
    expect(argumentCasts(sample)).toEqual(['1: const a = args.name as string;', "2: const b = (args['data-centre'] as string | undefined) ?? x;", '3: run(ctx, { ip, code: given }) { return given as string; }', "4: confirm: ({ ip }) => `Remove ${ip as string}?`,"]);
  });

  it('no command in commands/ casts an argument', () => {
    const dir = join(ROOT, 'commands');
    const found = readdirSync(dir)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => argumentCasts(readFileSync(join(dir, file), 'utf8')).map((hit) => `commands/${file}:${hit}`));
    expect(found).toEqual([]);
  });
});
