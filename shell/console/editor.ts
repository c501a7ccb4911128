// The console's line editor as a pure state machine: each key press maps
// the line and cursor to a new line and cursor. Kept free of Ink so that it
// can be tested key by key.

export interface LineState {
  text: string;
  cursor: number;
}

export const emptyLine: LineState = { text: '', cursor: 0 };

export type EditKey =
  | { kind: 'insert'; text: string }
  | { kind: 'left' }
  | { kind: 'right' }
  | { kind: 'home' } // Home, Ctrl-A
  | { kind: 'end' } // End, Ctrl-E
  | { kind: 'backspace' }
  | { kind: 'delete' }
  | { kind: 'kill-before' } // Ctrl-U
  | { kind: 'kill-after' } // Ctrl-K
  | { kind: 'kill-word' } // Ctrl-W
  | { kind: 'word-left' } // Alt-B
  | { kind: 'word-right' }; // Alt-F

export function edit(state: LineState, key: EditKey): LineState {
  const { text, cursor } = state;
  switch (key.kind) {
    case 'insert':
      return { text: text.slice(0, cursor) + key.text + text.slice(cursor), cursor: cursor + key.text.length };
    case 'left':
      return { text, cursor: Math.max(0, cursor - 1) };
    case 'right':
      return { text, cursor: Math.min(text.length, cursor + 1) };
    case 'home':
      return { text, cursor: 0 };
    case 'end':
      return { text, cursor: text.length };
    case 'backspace':
      return cursor === 0 ? state : { text: text.slice(0, cursor - 1) + text.slice(cursor), cursor: cursor - 1 };
    case 'delete':
      return { text: text.slice(0, cursor) + text.slice(cursor + 1), cursor };
    case 'kill-before':
      return { text: text.slice(cursor), cursor: 0 };
    case 'kill-after':
      return { text: text.slice(0, cursor), cursor };
    case 'kill-word': {
      const start = wordStartBefore(text, cursor);
      return { text: text.slice(0, start) + text.slice(cursor), cursor: start };
    }
    case 'word-left':
      return { text, cursor: wordStartBefore(text, cursor) };
    case 'word-right': {
      let i = cursor;
      while (i < text.length && text[i] === ' ') i++;
      while (i < text.length && text[i] !== ' ') i++;
      return { text, cursor: i };
    }
  }
}

function wordStartBefore(text: string, cursor: number): number {
  let i = cursor;
  while (i > 0 && text[i - 1] === ' ') i--;
  while (i > 0 && text[i - 1] !== ' ') i--;
  return i;
}

/** Replaces the partial word before the cursor with a completion. */
export function applyCompletion(state: LineState, partial: string, completion: string, final: boolean): LineState {
  const before = state.text.slice(0, state.cursor - partial.length);
  const after = state.text.slice(state.cursor);
  const inserted = completion + (final && !after.startsWith(' ') ? ' ' : '');
  return { text: before + inserted + after, cursor: before.length + inserted.length };
}

/** The longest prefix shared by every candidate. */
export function commonPrefix(candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  let prefix = candidates[0]!;
  for (const c of candidates) while (!c.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

// ---------------------------------------------------------------------------
// History: Up/Down walk it, Ctrl-R searches it backwards. A value, not an
// object: each step returns the next history, so the console's reducer stays pure.

export interface HistoryState {
  readonly entries: readonly string[];
  /** Where Up/Down stand: entries.length is the line being typed. */
  readonly position: number;
  /** The line being typed when Up first left it, given back by Down. */
  readonly draft: string;
}

export function startHistory(entries: readonly string[]): HistoryState {
  return { entries, position: entries.length, draft: '' };
}

/** Appends a line (not a blank one, not the newest again) and goes back to the end. */
export function addToHistory(history: HistoryState, line: string): HistoryState {
  const { entries } = history;
  const added = line.trim() && entries[entries.length - 1] !== line ? [...entries, line] : entries;
  return { entries: added, position: added.length, draft: history.draft };
}

/** One step back (Up); undefined at the oldest entry. `current` is kept as the draft when leaving it. */
export function previousInHistory(history: HistoryState, current: string): { history: HistoryState; line: string } | undefined {
  if (history.position === 0) return undefined;
  const draft = history.position === history.entries.length ? current : history.draft;
  const position = history.position - 1;
  return { history: { ...history, position, draft }, line: history.entries[position]! };
}

/** One step forward (Down); past the newest entry is the draft; undefined when already there. */
export function nextInHistory(history: HistoryState): { history: HistoryState; line: string } | undefined {
  if (history.position >= history.entries.length) return undefined;
  const position = history.position + 1;
  const line = position === history.entries.length ? history.draft : history.entries[position]!;
  return { history: { ...history, position }, line };
}

/** The newest entry containing `query`, searching back from `before`. */
export function searchHistory(history: HistoryState, query: string, before = history.entries.length): { line: string; index: number } | undefined {
  const { entries } = history;
  for (let i = Math.min(before, entries.length) - 1; i >= 0; i--) {
    if (entries[i]!.includes(query)) return { line: entries[i]!, index: i };
  }
  return undefined;
}
