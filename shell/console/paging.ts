// The console's own pager, as pure data: a long text (a `page` block, such as
// a log) that does not fit on the screen is shown a screen at a time, with the
// keys of `less` (the pager one-shot commands use, shell/pager.ts): Space and
// b by screens, Up/Down by lines, g/G to the ends, / to search with a regular
// expression, n/N for the next and previous match, q to quit.

import { escapeControls } from '../../core/escape.js';
import type { KeyPress } from './keys.js';

export interface Screen {
  columns: number;
  rows: number;
}

/** One row on the screen: a piece of a line of the text, which may take several rows. */
export interface Row {
  line: number;
  text: string;
}

export interface Pager {
  title: string;
  /** The text's lines, control characters escaped, tabs expanded. */
  lines: string[];
  /** The lines cut to the screen's width. */
  rows: Row[];
  /** The first row shown. */
  top: number;
  /** Rows shown at once: the screen less the status line and one spare row (a live region as tall as the screen makes Ink clear it). */
  height: number;
  /** The `/` line being typed, when searching. */
  typing?: string;
  /** The last search, for n and N. */
  pattern?: string;
  /** A word for the status line: "Pattern not found". */
  message?: string;
}

export function pageHeight(screen: Screen): number {
  return Math.max(1, screen.rows - 2);
}

/** The rows of a text on a screen; a text that fits needs no pager. */
export function openPager(title: string, text: string, screen: Screen): Pager | undefined {
  const lines = escapeControls(text, { lines: true }).split('\n').map(expandTabs);
  const rows = rowsOf(lines, screen.columns);
  if (rows.length <= pageHeight(screen)) return undefined;
  return { title, lines, rows, top: 0, height: pageHeight(screen) };
}

/** The same pager on a resized screen, still showing the line it showed at its top. */
export function resizePager(pager: Pager, screen: Screen): Pager {
  const line = pager.rows[pager.top]?.line ?? 0;
  const rows = rowsOf(pager.lines, screen.columns);
  const height = pageHeight(screen);
  return clamp({ ...pager, rows, height, top: rows.findIndex((r) => r.line === line) });
}

/** The rows shown now. */
export function visibleRows(pager: Pager): Row[] {
  return pager.rows.slice(pager.top, pager.top + pager.height);
}

/** What the status line says: the title and where we are, or the search being typed. */
export function statusLine(pager: Pager): string {
  if (pager.typing !== undefined) return `/${pager.typing}`;
  if (pager.message) return pager.message;
  const last = Math.min(pager.rows.length, pager.top + pager.height);
  const end = last === pager.rows.length ? ' (END)' : '';
  return `${pager.title}  lines ${pager.rows[pager.top]!.line + 1}-${pager.rows[last - 1]!.line + 1} of ${pager.lines.length}${end}  (q quits, / searches)`;
}

/** A key in the pager: the next pager, or `quit`. */
export function pagerKey(pager: Pager, input: string, key: KeyPress): Pager | 'quit' {
  if (pager.typing !== undefined) return searchKey(pager, pager.typing, input, key);
  const shown = { ...pager, message: undefined };
  const screen = pager.height;
  if ((key.ctrl && input === 'c') || key.escape || input === 'q' || input === 'Q') return 'quit';
  if (input === ' ' || input === 'f' || input === 'z' || key.pageDown || (key.ctrl && input === 'f')) return move(shown, screen);
  if (input === 'b' || key.pageUp || (key.ctrl && input === 'b')) return move(shown, -screen);
  if (key.downArrow || key.return || input === 'j' || input === 'e') return move(shown, 1);
  if (key.upArrow || input === 'k' || input === 'y') return move(shown, -1);
  if (key.home || input === 'g' || input === '<') return clamp({ ...shown, top: 0 });
  if (key.end || input === 'G' || input === '>') return clamp({ ...shown, top: pager.rows.length });
  if (input === '/') return { ...shown, typing: '' };
  if (input === 'n' && pager.pattern !== undefined) return find(shown, pager.pattern, 1);
  if (input === 'N' && pager.pattern !== undefined) return find(shown, pager.pattern, -1);
  return pager;
}

function searchKey(pager: Pager, typing: string, input: string, key: KeyPress): Pager {
  if ((key.ctrl && (input === 'c' || input === 'u')) || key.escape) return { ...pager, typing: undefined };
  if (key.return) return typing === '' ? { ...pager, typing: undefined } : find({ ...pager, typing: undefined, pattern: typing }, typing, 1);
  if (key.backspace || key.delete) return typing === '' ? { ...pager, typing: undefined } : { ...pager, typing: typing.slice(0, -1) };
  if (input && !key.ctrl && !key.meta && !key.tab) return { ...pager, typing: typing + input };
  return pager;
}

/** The next (or previous) line holding the pattern, brought to the top. */
function find(pager: Pager, pattern: string, direction: 1 | -1): Pager {
  const matches = matcher(pattern);
  const current = pager.rows[pager.top]?.line ?? 0;
  for (let line = current + direction; line >= 0 && line < pager.lines.length; line += direction) {
    if (matches(pager.lines[line]!)) return clamp({ ...pager, top: pager.rows.findIndex((r) => r.line === line), message: undefined });
  }
  return { ...pager, message: 'Pattern not found  (press a key)' };
}

/** A regular expression, as less takes it; one that does not compile is searched as plain text. */
function matcher(pattern: string): (line: string) => boolean {
  try {
    const regex = new RegExp(pattern);
    return (line) => regex.test(line);
  } catch {
    return (line) => line.includes(pattern);
  }
}

function move(pager: Pager, by: number): Pager {
  return clamp({ ...pager, top: pager.top + by });
}

/** Keeps the last screen full: no scrolling past the end. */
function clamp(pager: Pager): Pager {
  const last = Math.max(0, pager.rows.length - pager.height);
  return { ...pager, top: Math.min(last, Math.max(0, pager.top)) };
}

function rowsOf(lines: readonly string[], columns: number): Row[] {
  const width = Math.max(10, columns);
  const rows: Row[] = [];
  lines.forEach((text, line) => {
    if (text.length === 0) rows.push({ line, text });
    for (let start = 0; start < text.length; start += width) rows.push({ line, text: text.slice(start, start + width) });
  });
  return rows;
}

function expandTabs(line: string): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const ch of line) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}
