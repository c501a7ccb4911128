import { describe, expect, it } from 'vitest';
import { choice, integer, ipAddress, listOf, secret, text } from '../../core/argtypes.js';
import { buildTree, complete, helpAt, parse, splitWords, usageOf, type Parsed } from '../../commands/tree.js';
import { PlatformError } from '../../core/errors.js';
import { reply } from '../../core/reply.js';
import { type Command, type Group } from '../../core/command.js';

const command = (words: string[], extra: Partial<Command> = {}): Command => ({
  words,
  summary: `the ${words.join(' ')} command`,
  run: () => reply.text(words.join(' ')),
  ...extra,
});

const groups: Group[] = [
  {
    word: 'web',
    summary: 'web server management',
    commands: [
      command(['web', 'cert', 'add'], { args: [{ name: 'file', type: text('<filename>') }] }),
      command(['web', 'cert', 'del']),
      command(['web', 'cert', 'details']),
      command(['web', 'cert', 'details', 'edit']),
      command(['web', 'cert', 'gen_csr']),
      command(['web', 'cert', 'gen_selfsigned']),
      command(['web', 'weight', 'add'], {
        args: [
          { name: 'server', type: text('<server:port>') },
          { name: 'weight', type: integer('<weight>', 0, 100) },
        ],
      }),
      command(['web', 'sslv3'], { args: [{ name: 'state', type: choice('<on|off>', ['on', 'off']), optional: true }] }),
    ],
  },
  {
    word: 'network',
    summary: 'network management',
    commands: [
      command(['network', 'dns'], { args: [{ name: 'servers', type: listOf(ipAddress()), optional: true }] }),
      command(['network', 'domain']),
    ],
  },
  {
    word: 'cluster',
    summary: 'cluster management',
    commands: [
      command(['cluster', 'run'], { args: [{ name: 'target', type: text('<target>') }, { name: 'command', type: text('<word>'), rest: true }] }),
      command(['cluster', 'list']),
    ],
  },
  {
    word: 'backup',
    summary: 'manage backups',
    commands: [command(['backup', 'add'], { args: [{ name: 'name', type: text() }, { name: 'password', type: secret() }] })],
  },
];
const root = buildTree(groups);

function commandOf(parsed: Parsed) {
  if (parsed.kind !== 'command') throw new Error('expected a command');
  return parsed;
}

function errorOf(fn: () => unknown): PlatformError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PlatformError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('parsing with abbreviation', () => {
  it('accepts unique prefixes of every word', () => {
    expect(commandOf(parse(root, ['we', 'ce', 'det'])).command.words).toEqual(['web', 'cert', 'details']);
    expect(commandOf(parse(root, ['w', 'ce', 'details', 'e'])).command.words).toEqual(['web', 'cert', 'details', 'edit']);
  });

  it('prefers an exact word over longer ones that share it', () => {
    expect(commandOf(parse(root, ['web', 'cert', 'details'])).command.words).toEqual(['web', 'cert', 'details']);
  });

  it('reports an ambiguous prefix with its candidates', () => {
    const error = errorOf(() => parse(root, ['web', 'cert', 'gen']));
    expect(error.code).toBe('ambiguous-command');
    expect(error.exitStatus).toBe(2);
    expect(error.message).toContain('gen_csr');
    expect(error.message).toContain('gen_selfsigned');
  });

  it('reports an unknown word with the nearest suggestions', () => {
    const error = errorOf(() => parse(root, ['web', 'crt', 'add', 'x']));
    expect(error.code).toBe('unknown-command');
    expect(error.message).toContain('did you mean "web cert"');
    const far = errorOf(() => parse(root, ['frobnicate']));
    expect(far.message).toBe('unknown command "frobnicate"');
  });

  it('gives a group without a command its USAGE listing', () => {
    const parsed = parse(root, ['web', 'we']);
    expect(parsed.kind).toBe('group');
    if (parsed.kind === 'group') expect(usageOf(parsed.node).map(([syntax]) => syntax)).toEqual(['web weight add <server:port> <weight>']);
  });
});

describe('arguments', () => {
  it('parses and validates typed arguments', () => {
    const parsed = commandOf(parse(root, ['web', 'weight', 'add', '10.0.0.1:443', '5']));
    expect(parsed.args).toEqual({ server: '10.0.0.1:443', weight: 5 });
    expect(errorOf(() => parse(root, ['web', 'weight', 'add', 'x', 'many'])).message).toContain('"many" is not a whole number');
    expect(errorOf(() => parse(root, ['web', 'weight', 'add', 'x', '101'])).code).toBe('out-of-range');
    expect(errorOf(() => parse(root, ['web', 'weight', 'add', 'x'])).message).toContain('missing <weight>');
    expect(errorOf(() => parse(root, ['web', 'weight', 'add', 'x', '1', 'extra'])).code).toBe('extra-argument');
    expect(errorOf(() => parse(root, ['network', 'dns', '10.0.0.1,banana'])).message).toContain('"banana" is not an IPv4 or IPv6 address');
    expect(commandOf(parse(root, ['network', 'dns', '10.0.0.1,::1'])).args.servers).toEqual(['10.0.0.1', '::1']);
  });

  it('passes every remaining word to a rest argument, even ones that look like commands', () => {
    const parsed = commandOf(parse(root, ['cluster', 'run', 'all', 'web', 'cert', '--json']));
    expect(parsed.args).toEqual({ target: 'all', command: ['web', 'cert', '--json'] });
  });

  it('redacts secret arguments in the audit words', () => {
    expect(commandOf(parse(root, ['backup', 'add', 'remote', 'hunter2'])).audit).toBe('backup add remote ***');
  });

  it('splits lines like a shell without ever running one', () => {
    expect(splitWords(`system info; id`)).toEqual(['system', 'info;', 'id']);
    expect(splitWords(`backup add "my place" 'a b'`)).toEqual(['backup', 'add', 'my place', 'a b']);
    expect(splitWords(`x ""`)).toEqual(['x', '']);
    expect(errorOf(() => splitWords('say "unclosed')).code).toBe('unclosed-quote');
  });
});

describe('rights', () => {
  const onlyNetwork = (c: Command) => c.words[0] === 'network';

  it('hides commands without a grant and refuses them by name', () => {
    const error = errorOf(() => parse(root, ['cluster', 'list'], onlyNetwork));
    expect(error.code).toBe('not-permitted');
    expect(error.exitStatus).toBe(1);
    // Abbreviations resolve among visible commands only.
    expect(commandOf(parse(root, ['n', 'dn'], onlyNetwork)).command.words).toEqual(['network', 'dns']);
  });
});

describe('completion and ? help', () => {
  it('completes command words from what was typed', async () => {
    expect((await complete(root, 'we')).candidates).toEqual(['web']);
    expect((await complete(root, 'web cert ')).candidates).toEqual(['add', 'del', 'details', 'gen_csr', 'gen_selfsigned']);
    expect((await complete(root, 'web cert gen')).candidates).toEqual(['gen_csr', 'gen_selfsigned']);
    expect((await complete(root, 'web cert gen')).partial).toBe('gen');
  });

  it('completes values from a choice', async () => {
    expect((await complete(root, 'web sslv3 o')).candidates).toEqual(['on', 'off']);
  });

  it('hides what the caller may not run', async () => {
    expect((await complete(root, '', (c) => c.words[0] === 'network')).candidates).toEqual(['network']);
  });

  it('lists what may come next with its help', async () => {
    const entries = await helpAt(root, 'web weight add ');
    expect(entries[0]).toEqual({ word: '<server:port>', summary: 'server' });
    const atCert = await helpAt(root, 'web cert details ');
    expect(atCert.map((e) => e.word)).toEqual(['edit', '<Enter>']);
    expect((await helpAt(root, '')).map((e) => e.word)).toEqual(['backup', 'cluster', 'network', 'web']);
  });
});
