// The plain-text renderer: what `ssh platform@host <command>` and pipes see.
// The Ink console draws the same blocks with colour, from the same lines
// (tableLines, renderTree, usageLines). Every string is shown
// with its control characters escaped (core/escape.ts): what a command
// returns may hold words someone else typed.

import type { Block, Json } from './reply.js';
import { escapeControls } from './escape.js';

export function renderBlocks(blocks: readonly Block[], width = 100): string {
  return blocks.map((block) => renderBlock(block, width)).join('\n');
}

export function renderBlock(block: Block, width = 100): string {
  switch (block.kind) {
    case 'text':
    case 'warning':
    case 'page':
      return escapeControls(block.text, { lines: true });
    case 'tree':
      return renderTree(block.value, 0).join('\n');
    case 'table':
      return renderTable(block.columns, block.rows);
    case 'usage':
      return renderUsage(block.entries, width);
  }
}

const INDENT = '    ';

/** YAML-ish: `key: value`, nested maps indented, scalar lists on one line. */
export function renderTree(value: { [key: string]: Json }, depth: number): string[] {
  const lines: string[] = [];
  const pad = INDENT.repeat(depth);
  for (const [key, item] of Object.entries(value)) {
    const shownKey = escapeControls(key);
    if (item === null || typeof item !== 'object') lines.push(`${pad}${shownKey}: ${scalar(item)}`);
    else if (Array.isArray(item)) {
      if (item.every((x) => x === null || typeof x !== 'object')) lines.push(`${pad}${shownKey}: ${item.length ? item.map(scalar).join(', ') : 'none'}`);
      else {
        lines.push(`${pad}${shownKey}:`);
        for (const entry of item) {
          const nested = renderTree(entry as { [key: string]: Json }, depth + 1);
          if (nested.length > 0) nested[0] = `${pad}  - ${nested[0]!.trimStart()}`;
          lines.push(...nested);
        }
      }
    } else {
      lines.push(`${pad}${shownKey}:`);
      lines.push(...renderTree(item, depth + 1));
    }
  }
  return lines;
}

function scalar(value: Json): string {
  if (value === null) return 'value not set';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return escapeControls(String(value));
}

export function renderTable(rawColumns: readonly string[], rawRows: readonly string[][]): string {
  return tableLines(rawColumns, rawRows).join('\n');
}

/** The header, a dashed rule under it, then one line per row, columns aligned. */
export function tableLines(rawColumns: readonly string[], rawRows: readonly string[][]): string[] {
  const columns = rawColumns.map((c) => escapeControls(c));
  const rows = rawRows.map((row) => row.map((cell) => escapeControls(String(cell))));
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** `USAGE:`, a dashed rule, then `syntax - description`, long descriptions wrapped and indented. */
export function renderUsage(rawEntries: readonly [string, string][], width: number): string {
  return usageLines(rawEntries, width).join('\n');
}

export function usageLines(rawEntries: readonly [string, string][], width: number): string[] {
  const entries = rawEntries.map(([syntax, summary]) => [escapeControls(syntax), escapeControls(summary)] as const);
  const syntaxWidth = Math.min(48, Math.max(0, ...entries.map(([s]) => s.length)));
  const room = Math.max(20, width - syntaxWidth - 3);
  const lines = ['USAGE:', '-'.repeat(Math.min(width, 78))];
  for (const [syntax, summary] of entries) {
    const [first = '', ...more] = wrapWords(summary, room);
    if (syntax.length > syntaxWidth) lines.push(syntax, `${' '.repeat(syntaxWidth)} - ${first}`);
    else lines.push(`${syntax.padEnd(syntaxWidth)} - ${first}`);
    for (const part of more) lines.push(' '.repeat(syntaxWidth + 3) + part);
  }
  return lines;
}

function wrapWords(text: string, room: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > room) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out;
}
