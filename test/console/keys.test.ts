// Keys as the console reads them: a chunk split into single keys, and the
// line editor's keys (Emacs style, Esc as the Meta prefix).

import { describe, expect, it } from 'vitest';
import { editKeyOf, splitKeys } from '../../shell/console/keys.js';

describe('splitting a chunk into keys', () => {
  it('leaves a single key and plain text as they are', () => {
    expect(splitKeys('a', {})).toEqual([['a', {}]]);
    expect(splitKeys('sys inf', {})).toEqual([['sys inf', {}]]);
    expect(splitKeys('\r', { return: true })).toEqual([['\r', { return: true }]]);
  });

  it('splits typed-ahead text and Enter', () => {
    expect(splitKeys('sys inf\r', {})).toEqual([
      ['sys inf', { ctrl: false, return: false, tab: false, backspace: false }],
      ['', { ctrl: false, return: true, tab: false, backspace: false }],
    ]);
  });

  it('reads control characters as Ctrl keys, Tab and Backspace', () => {
    expect(splitKeys('\x01\x0bm\t\x7f\n', {}).map(([input, key]) => [input, Object.keys(key).filter((k) => key[k as keyof typeof key])])).toEqual([
      ['a', ['ctrl']],
      ['k', ['ctrl']],
      ['m', []],
      ['', ['tab']],
      ['', ['backspace']],
      ['', ['return']],
    ]);
  });

  it('leaves escape sequences to Ink', () => {
    expect(splitKeys('\x1b[A\r', { upArrow: true })).toEqual([['\x1b[A\r', { upArrow: true }]]);
  });
});

describe('line editor keys', () => {
  it.each([
    ['a', {}, { kind: 'insert', text: 'a' }],
    ['a\r\nb\tc', {}, { kind: 'insert', text: 'a  b c' }],
    ['', { leftArrow: true }, { kind: 'left' }],
    ['', { rightArrow: true }, { kind: 'right' }],
    ['', { leftArrow: true, ctrl: true }, { kind: 'word-left' }],
    ['', { rightArrow: true, meta: true }, { kind: 'word-right' }],
    ['', { home: true }, { kind: 'home' }],
    ['', { end: true }, { kind: 'end' }],
    ['', { backspace: true }, { kind: 'backspace' }],
    ['', { delete: true }, { kind: 'backspace' }],
    ['x', { delete: true }, { kind: 'delete' }],
    ['a', { ctrl: true }, { kind: 'home' }],
    ['e', { ctrl: true }, { kind: 'end' }],
    ['u', { ctrl: true }, { kind: 'kill-before' }],
    ['k', { ctrl: true }, { kind: 'kill-after' }],
    ['w', { ctrl: true }, { kind: 'kill-word' }],
    ['b', { ctrl: true }, { kind: 'left' }],
    ['f', { ctrl: true }, { kind: 'right' }],
    ['h', { ctrl: true }, { kind: 'backspace' }],
    ['b', { meta: true }, { kind: 'word-left' }],
    ['f', { meta: true }, { kind: 'word-right' }],
  ])('%j %j edits as %j', (input, key, expected) => {
    expect(editKeyOf(input, key)).toEqual(expected);
  });

  it.each([
    ['', { escape: true }],
    ['x', { meta: true }],
    ['z', { ctrl: true }],
    ['', { return: true }],
    ['', { tab: true }],
    ['', { upArrow: true }],
    ['', { downArrow: true }],
    ['', {}],
  ])('%j %j does not edit', (input, key) => {
    expect(editKeyOf(input, key)).toBeUndefined();
  });
});
