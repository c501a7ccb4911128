// What scrolls away above the live line: echoed lines, replies, errors,
// progress, Tab's candidates and `?`'s help. Text from the daemon (and what
// was typed) is shown with its control characters escaped.

import { Text } from 'ink';
import { escapeControls } from '../../core/escape.js';
import { BlocksView } from './blocks.js';
import type { Entry, HelpEntry } from './state.js';

export function EntryView({ entry, width }: { entry: Entry; width: number }) {
  switch (entry.kind) {
    case 'echo':
      return <Text>{escapeControls(entry.text)}</Text>;
    case 'info':
      return <Text dimColor>{escapeControls(entry.text, { lines: true })}</Text>;
    case 'error':
      return <Text color="red">{escapeControls(entry.text, { lines: true })}</Text>;
    case 'blocks':
      return <BlocksView blocks={entry.blocks} width={width} />;
    case 'candidates':
      return <Text dimColor>{escapeControls(columns(entry.items, width || 80), { lines: true })}</Text>;
    case 'help':
      return <Text dimColor>{escapeControls(helpLines(entry.entries), { lines: true })}</Text>;
  }
}

/** Candidates in columns across the terminal, as shells list completions. */
export function columns(items: readonly string[], width: number): string {
  const cell = Math.max(...items.map((i) => i.length)) + 2;
  const perRow = Math.max(1, Math.floor(width / cell));
  const rows: string[] = [];
  for (let i = 0; i < items.length; i += perRow) rows.push(items.slice(i, i + perRow).map((x) => x.padEnd(cell)).join('').trimEnd());
  return rows.join('\n');
}

/** What may follow, a word and its summary a line. */
export function helpLines(entries: readonly HelpEntry[]): string {
  const width = Math.max(0, ...entries.map((e) => e.word.length));
  return entries.map((e) => `  ${e.word.padEnd(width)}  ${e.summary}`).join('\n') || '  (nothing may follow)';
}
