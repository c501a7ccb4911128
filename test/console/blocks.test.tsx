// The console draws a reply's blocks as Ink components; the text it shows
// must be the plain renderer's (core/text.ts), line for line, so the console
// and `ssh platform@host <command>` agree.

import { describe, expect, it } from 'vitest';
import { renderToString } from 'ink';
import type { Block } from '../../core/reply.js';
import { renderBlocks } from '../../core/text.js';
import { BlocksView } from '../../shell/console/blocks.js';
import { EntryView, columns, helpLines } from '../../shell/console/entries.js';

const ANSI = /\x1b\[[0-9;]*m/g;
const drawn = (node: React.ReactNode, width = 100) => renderToString(node, { columns: width }).replace(ANSI, '');
/** Ink drops trailing spaces; the plain renderer trims its lines too, but not every text block. */
const lines = (text: string) => text.split('\n').map((l) => l.trimEnd());

const samples: [string, Block[]][] = [
  ['text', [{ kind: 'text', text: 'Maintenance mode started.\nSecond line' }]],
  ['warning', [{ kind: 'warning', text: 'HEALTH: NOT MONITORED' }]],
  ['table', [{ kind: 'table', columns: ['NAME', 'PORT', 'STATE'], rows: [['nginx', '443', 'running'], ['platformd-cluster', '8443', 'stopped']] }]],
  ['table with an empty row', [{ kind: 'table', columns: ['A', 'B'], rows: [['', ''], ['x', 'y']] }]],
  ['table without rows', [{ kind: 'table', columns: ['A', 'B'], rows: [] }]],
  [
    'tree',
    [
      {
        kind: 'tree',
        value: { hostname: 'ink01', maintenance: false, dns: ['10.0.0.1', '10.0.0.2'], none: [], unset: null, versions: { platform: '0.1.0', node: '26' }, peers: [{ name: 'a', ip: '10.0.0.5' }, { name: 'b' }] },
      },
    ],
  ],
  ['usage', [{ kind: 'usage', entries: [['web cert add <filename>', 'Installs a certificate from the media directory, replacing the one in use after checking that its key matches'], ['web cert del', 'Removes it']] }]],
  ['page', [{ kind: 'page', title: 'platformd.log', text: 'line 1\nline 2' }]],
  ['control characters', [{ kind: 'text', text: 'evil\x1b[2Jname' }, { kind: 'table', columns: ['N\x07'], rows: [['\x1b]0;x\x07']] }, { kind: 'tree', value: { 'k\x1b': 'v\x1b' } }]],
  ['several blocks', [{ kind: 'warning', text: 'careful' }, { kind: 'text', text: 'then this' }, { kind: 'table', columns: ['X'], rows: [['1']] }]],
];

describe('blocks on the console', () => {
  it.each(samples)('%s: the same lines as the plain renderer', (_, blocks) => {
    expect(lines(drawn(<BlocksView blocks={blocks} width={100} />))).toEqual(lines(renderBlocks(blocks, 100)));
  });

  it('wraps usage to the terminal width, as the plain renderer does', () => {
    const blocks = samples.find(([name]) => name === 'usage')![1];
    expect(lines(drawn(<BlocksView blocks={blocks} width={60} />, 60))).toEqual(lines(renderBlocks(blocks, 60)));
  });

  it('never lets a control character through', () => {
    const blocks = samples.find(([name]) => name === 'control characters')![1];
    expect(renderToString(<BlocksView blocks={blocks} width={100} />)).not.toMatch(/\x1b\[2J|\x07|\x1b\]/);
  });
});

describe('Tab and ? listings', () => {
  it('lists candidates in columns across the width', () => {
    expect(columns(['cert', 'weight', 'service', 'cluster'], 20)).toBe('cert     weight\nservice  cluster');
    expect(drawn(<EntryView entry={{ id: 0, kind: 'candidates', items: ['cert', 'weight'] }} width={80} />)).toBe('cert    weight');
  });

  it('lists help with the words aligned, or says nothing may follow', () => {
    expect(helpLines([{ word: 'info', summary: 'Show it' }, { word: 'maintenance-mode', summary: 'Start or stop' }])).toBe('  info              Show it\n  maintenance-mode  Start or stop');
    expect(helpLines([])).toBe('  (nothing may follow)');
    expect(drawn(<EntryView entry={{ id: 0, kind: 'help', entries: [] }} width={80} />)).toBe('  (nothing may follow)');
  });

  it('shows echoed lines, progress and errors with control characters escaped', () => {
    for (const kind of ['echo', 'info', 'error'] as const) {
      expect(renderToString(<EntryView entry={{ id: 0, kind, text: 'a\x1b[2Jb' }} width={80} />)).not.toContain('\x1b[2J');
    }
  });
});
