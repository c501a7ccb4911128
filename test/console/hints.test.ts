// What the console suggests: an unknown first word with other words that
// name a place in the tree, and `?` on an argument (its range or choices,
// and the values that exist).

import { describe, expect, it } from 'vitest';
import { groups } from '../../commands/index.js';
import { buildTree, helpAt, parse } from '../../commands/tree.js';
import { integer, name } from '../../core/argtypes.js';
import type { Context } from '../../core/context.js';
import { defineCommand } from '../../core/command.js';
import { PlatformError } from '../../core/errors.js';

const root = buildTree(groups);

function refusal(line: string): PlatformError {
  try {
    parse(root, line.split(' '));
  } catch (error) {
    return error as PlatformError;
  }
  throw new Error(`"${line}" parsed`);
}

describe('unknown commands', () => {
  it.each([
    ['show firewall', 'firewall status'],
    ['display web cert', 'web cert details'],
    ['web cert show', 'web cert details'],
    ['list backup', 'backup list'],
    ['remove web weight app1:443', 'web weight del'],
  ])('"%s": did you mean "%s"?', (line, suggested) => {
    const error = refusal(line);
    expect(error.code).toBe('unknown-command');
    expect(error.exitStatus).toBe(2);
    expect(error.message).toContain(`did you mean "${suggested}"?`);
    expect(error.hints).toEqual([suggested]);
  });

  it('a word close to a real one is still suggested first', () => {
    expect(refusal('firewll status').message).toContain('did you mean "firewall"?');
  });

  it('other words that name a group without such a verb suggest the group', () => {
    expect(refusal('frobnicate snmp').hints).toEqual(['snmp']);
  });

  it('says nothing more when nothing matches, whatever the words', () => {
    expect(refusal('qqqq zzzz').message).toBe('unknown command "qqqq"');
    expect(refusal('__proto__ constructor toString').message).toBe('unknown command "__proto__"');
  });
});

describe('? on an argument', () => {
  it('shows the range of a number', async () => {
    const entries = await helpAt(root, 'web weight add app1:443 ');
    expect(entries[0]).toEqual({ word: '<weight>', summary: 'weight, 0..100' });
  });

  it('shows the choices of a choice', async () => {
    const entries = await helpAt(root, 'web tls minimum ');
    expect(entries[0]!.word).toBe('1.2|1.3');
  });

  it('lists the values that exist where the argument completes from the node', async () => {
    const jobs = Array.from({ length: 12 }, (_, i) => `job${i}`);
    const tree = buildTree([
      {
        word: 'demo',
        summary: 'demo',
        commands: [
          defineCommand({
            words: ['demo', 'set'],
            summary: 'set',
            args: [
              { name: 'job', type: { ...name('<job>'), complete: () => jobs } },
              { name: 'hours', type: integer('<hours>', 1, 24), summary: 'every so many hours' },
            ],
            run: () => ({ blocks: [] }),
          }),
        ],
      },
    ]);
    const ctx = {} as Context;
    const [job] = await helpAt(tree, 'demo set ', undefined, ctx);
    expect(job).toEqual({ word: '<job>', summary: 'job; existing: job0, job1, job2, job3, job4, job5, job6, job7, job8, job9 (and 2 more)' });
    const [hours] = await helpAt(tree, 'demo set job1 ', undefined, ctx);
    expect(hours).toEqual({ word: '<hours>', summary: 'every so many hours, 1..24' });
  });

  it('a completion source that fails lists nothing, and ? still answers', async () => {
    const tree = buildTree([
      {
        word: 'demo',
        summary: 'demo',
        commands: [
          defineCommand({
            words: ['demo', 'del'],
            summary: 'del',
            args: [
              {
                name: 'job',
                type: {
                  ...name('<job>'),
                  complete: () => {
                    throw new Error('the scheduler is not running');
                  },
                },
              },
            ],
            run: () => ({ blocks: [] }),
          }),
        ],
      },
    ]);
    expect((await helpAt(tree, 'demo del ', undefined, {} as Context))[0]).toEqual({ word: '<job>', summary: 'job' });
  });
});
