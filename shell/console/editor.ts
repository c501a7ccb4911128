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
// History: Up/Down walk it, Ctrl-R searches it backwards.

export class History {
  private position: number;
  private draft = '';

  constructor(readonly entries: string[]) {
    this.position = entries.length;
  }

  add(line: string): void {
    if (line.trim() && this.entries[this.entries.length - 1] !== line) this.entries.push(line);
    this.position = this.entries.length;
  }

  previous(current: string): string | undefined {
    if (this.position === this.entries.length) this.draft = current;
    if (this.position === 0) return undefined;
    return this.entries[--this.position];
  }

  next(): string | undefined {
    if (this.position >= this.entries.length) return undefined;
    this.position++;
    return this.position === this.entries.length ? this.draft : this.entries[this.position];
  }

  /** The newest entry containing `query`, searching back from `before`. */
  search(query: string, before = this.entries.length): { line: string; index: number } | undefined {
    for (let i = Math.min(before, this.entries.length) - 1; i >= 0; i--) {
      if (this.entries[i]!.includes(query)) return { line: this.entries[i]!, index: i };
    }
    return undefined;
  }
}
