// What a key press means to the console, kept free of Ink: Ink's `Key` fits
// `KeyPress` as it is, and tests write key presses as small literals.

import type { EditKey } from './editor.js';

/** The flags of a key press the console reads (a subset of Ink's `Key`). */
export interface KeyPress {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  home?: boolean;
  end?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** Ctrl and a letter: the line editor's Emacs keys. */
const CTRL_EDIT_KEYS = new Map<string, EditKey>([
  ['a', { kind: 'home' }],
  ['e', { kind: 'end' }],
  ['u', { kind: 'kill-before' }],
  ['k', { kind: 'kill-after' }],
  ['w', { kind: 'kill-word' }],
  ['b', { kind: 'left' }],
  ['f', { kind: 'right' }],
  ['h', { kind: 'backspace' }],
]);

/** Meta (Alt, or Esc then the key) and a letter. */
const META_EDIT_KEYS = new Map<string, EditKey>([
  ['b', { kind: 'word-left' }],
  ['f', { kind: 'word-right' }],
]);

/** Keys that edit the line, the same in every mode that has a line. */
export function editKeyOf(input: string, key: KeyPress): EditKey | undefined {
  if (key.leftArrow) return { kind: key.ctrl || key.meta ? 'word-left' : 'left' };
  if (key.rightArrow) return { kind: key.ctrl || key.meta ? 'word-right' : 'right' };
  if (key.home) return { kind: 'home' };
  if (key.end) return { kind: 'end' };
  if (key.backspace) return { kind: 'backspace' };
  if (key.delete) return { kind: input === '' ? 'backspace' : 'delete' };
  if (key.ctrl) return CTRL_EDIT_KEYS.get(input);
  if (key.meta) return META_EDIT_KEYS.get(input);
  if (input && !key.escape && !key.return && !key.tab && !key.upArrow && !key.downArrow) {
    return { kind: 'insert', text: input.replace(/[\r\n\t]/g, ' ') };
  }
  return undefined;
}

/** The key a control character stands for when it arrives inside a longer chunk. */
function controlKey(ch: string, base: KeyPress): [string, KeyPress] {
  if (ch === '\r' || ch === '\n') return ['', { ...base, return: true }];
  if (ch === '\t') return ['', { ...base, tab: true }];
  if (ch === '\x7f' || ch === '\b') return ['', { ...base, backspace: true }];
  return [String.fromCharCode(ch.charCodeAt(0) + 96), { ...base, ctrl: true }]; // \x01 = Ctrl-A ...
}

/** Splits a chunk that holds several keys (typed ahead, pasted, scripted) into single keys. */
export function splitKeys(input: string, key: KeyPress): [string, KeyPress][] {
  // Escape sequences (arrows ...) are Ink's to parse; single keys need no splitting.
  if (input.length <= 1 || input.includes('\x1b') || !/[\x00-\x1f\x7f]/.test(input)) return [[input, key]];
  const base = { ...key, ctrl: false, return: false, tab: false, backspace: false };
  const keys: [string, KeyPress][] = [];
  let text = '';
  for (const ch of input) {
    if (ch >= ' ' && ch !== '\x7f') {
      text += ch;
      continue;
    }
    if (text) keys.push([text, base]);
    text = '';
    keys.push(controlKey(ch, base));
  }
  if (text) keys.push([text, base]);
  return keys;
}
