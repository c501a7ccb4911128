// The console's pager as data: screens, lines, ends, search, status line.

import { describe, expect, it } from 'vitest';
import type { KeyPress } from '../../shell/console/keys.js';
import { openPager, pagerKey, resizePager, statusLine, visibleRows, type Pager } from '../../shell/console/paging.js';

const screen = { columns: 40, rows: 7 }; // 5 rows of text, a status line, a spare row
const log = Array.from({ length: 20 }, (_, i) => `line ${i}${i === 12 ? ' needle-alpha' : ''}${i === 17 ? ' needle-beta' : ''}`).join('\n');
const open = (text = log) => openPager('platformd.log', text, screen)!;
const firstLines = (pager: Pager) => visibleRows(pager).map((r) => r.text);

function keys(pager: Pager, ...presses: (string | [string, KeyPress])[]): Pager {
  for (const press of presses) {
    const [input, key] = typeof press === 'string' ? [press, {}] : press;
    const next = pagerKey(pager, input, key);
    if (next === 'quit') throw new Error('quit');
    pager = next;
  }
  return pager;
}
const quits = (pager: Pager, input: string, key: KeyPress = {}) => pagerKey(pager, input, key) === 'quit';

describe('console pager', () => {
  it('is not needed for a text that fits on the screen', () => {
    expect(openPager('short', 'a\nb\nc\nd\ne', screen)).toBeUndefined();
    expect(openPager('long', 'a\nb\nc\nd\ne\nf', screen)).toBeDefined();
  });

  it('starts at the top with a screen of rows and says where it is', () => {
    const pager = open();
    expect(firstLines(pager)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(statusLine(pager)).toBe('platformd.log  lines 1-5 of 20  (q quits, / searches)');
  });

  it('cuts long lines to the width, each piece a row of the same line', () => {
    const pager = open(`${'x'.repeat(95)}\n${log}`);
    expect(pager.rows.slice(0, 4)).toEqual([
      { line: 0, text: 'x'.repeat(40) },
      { line: 0, text: 'x'.repeat(40) },
      { line: 0, text: 'x'.repeat(15) },
      { line: 1, text: 'line 0' },
    ]);
  });

  it('shows control characters escaped and expands tabs', () => {
    const pager = open(`a\x1b[2Jb\tc\n${log}`);
    expect(pager.rows[0]!.text).toBe('a\\e[2Jb c'); // the tab fills to the next multiple of 8
  });

  it.each([
    ['Space', ' ', {}, 5],
    ['f', 'f', {}, 5],
    ['PageDown', '', { pageDown: true }, 5],
    ['Ctrl-F', 'f', { ctrl: true }, 5],
    ['Down', '', { downArrow: true }, 1],
    ['Enter', '', { return: true }, 1],
    ['j', 'j', {}, 1],
  ])('%s goes forward', (_, input, key, top) => {
    expect(keys(open(), [input, key as KeyPress]).top).toBe(top);
  });

  it.each([
    ['b', 'b', {}, 5],
    ['PageUp', '', { pageUp: true }, 5],
    ['Up', '', { upArrow: true }, 9],
    ['k', 'k', {}, 9],
  ])('%s goes back', (_, input, key, top) => {
    expect(keys(open(), ' ', ' ', [input, key as KeyPress]).top).toBe(top);
  });

  it('never scrolls before the start or past the last full screen, and says END there', () => {
    expect(keys(open(), 'b', 'k').top).toBe(0);
    const end = keys(open(), ' ', ' ', ' ', ' ', ' ');
    expect(end.top).toBe(15);
    expect(firstLines(end).at(-1)).toBe('line 19');
    expect(statusLine(end)).toContain('lines 16-20 of 20 (END)');
  });

  it.each([
    ['G', 'G', {}, 15],
    ['End', '', { end: true }, 15],
    ['>', '>', {}, 15],
  ])('%s goes to the end', (_, input, key, top) => {
    expect(keys(open(), [input, key as KeyPress]).top).toBe(top);
  });

  it.each([
    ['g', 'g', {}],
    ['Home', '', { home: true }],
    ['<', '<', {}],
  ])('%s goes to the start', (_, input, key) => {
    expect(keys(open(), 'G', [input, key as KeyPress]).top).toBe(0);
  });

  it.each([
    ['q', 'q', {}],
    ['Q', 'Q', {}],
    ['Esc', '', { escape: true }],
    ['Ctrl-C', 'c', { ctrl: true }],
  ])('%s quits', (_, input, key) => {
    expect(quits(open(), input, key)).toBe(true);
  });

  it('ignores other keys', () => {
    const pager = open();
    expect(keys(pager, 'x', ['', { tab: true }], 'n', 'N')).toEqual(pager);
  });

  it('/ searches forward with a regular expression; n and N go to the next and previous match', () => {
    let pager = keys(open(), '/');
    expect(statusLine(pager)).toBe('/');
    pager = keys(pager, 'needle-[a-z]+', ['', { return: true }]);
    expect(firstLines(pager)[0]).toBe('line 12 needle-alpha');
    pager = keys(pager, 'n');
    expect(pager.top).toBe(15); // line 17 cannot be at the top of a full last screen
    expect(firstLines(pager)).toContain('line 17 needle-beta');
    pager = keys(pager, 'N');
    expect(firstLines(pager)[0]).toBe('line 12 needle-alpha');
  });

  it('says when nothing more matches, until the next key', () => {
    let pager = keys(open(), '/', 'nowhere', ['', { return: true }]);
    expect(statusLine(pager)).toMatch(/Pattern not found/);
    expect(pager.top).toBe(0);
    pager = keys(pager, 'j');
    expect(statusLine(pager)).toMatch(/^platformd\.log/);
  });

  it('searches a pattern that is not a valid regular expression as plain text', () => {
    expect(firstLines(keys(open(`${log}\nodd (paren`), '/', '(paren', ['', { return: true }]))).toContain('odd (paren');
  });

  it('Esc, Ctrl-C or Backspace on an empty search line leave the search; Backspace edits it', () => {
    expect(keys(open(), '/', 'ab', ['', { backspace: true }]).typing).toBe('a');
    for (const press of [['', { escape: true }], ['c', { ctrl: true }], ['', { backspace: true }]] as [string, KeyPress][]) {
      expect(keys(open(), '/', press).typing).toBeUndefined();
    }
    expect(keys(open(), '/', ['', { return: true }]).typing).toBeUndefined();
  });

  it('keeps the same line at the top on a resized screen', () => {
    const pager = keys(open(`${'y'.repeat(100)}\n${log}`), ' ');
    const topLine = pager.rows[pager.top]!.line;
    const wider = resizePager(pager, { columns: 120, rows: 12 });
    expect(wider.height).toBe(10);
    expect(wider.rows[wider.top]!.line).toBe(topLine);
  });
});
