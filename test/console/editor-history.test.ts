// The history as a value: each step returns a new one and leaves the old alone.

import { describe, expect, it } from 'vitest';
import { addToHistory, nextInHistory, previousInHistory, searchHistory, startHistory } from '../../shell/console/editor.js';

describe('console history', () => {
  it('starts after its newest entry', () => {
    expect(startHistory(['a', 'b'])).toEqual({ entries: ['a', 'b'], position: 2, draft: '' });
  });

  it('adds a line, but not a blank one or the newest again, and goes back to the end', () => {
    const start = startHistory(['a']);
    expect(addToHistory(start, 'b').entries).toEqual(['a', 'b']);
    expect(addToHistory(start, 'a').entries).toEqual(['a']);
    expect(addToHistory(start, '  ').entries).toEqual(['a']);
    const walked = previousInHistory(start, 'x')!.history;
    expect(addToHistory(walked, 'a').position).toBe(1);
    expect(start.entries).toEqual(['a']);
  });

  it('walks back and forth, keeping the draft', () => {
    const start = startHistory(['a', 'b']);
    const b = previousInHistory(start, 'draft')!;
    const a = previousInHistory(b.history, 'b')!;
    expect([b.line, a.line]).toEqual(['b', 'a']);
    expect(previousInHistory(a.history, 'a')).toBeUndefined();
    const forward = nextInHistory(a.history)!;
    expect(forward.line).toBe('b');
    const back = nextInHistory(forward.history)!;
    expect(back.line).toBe('draft');
    expect(nextInHistory(back.history)).toBeUndefined();
  });

  it('searches back from the newest, or from before an index', () => {
    const history = startHistory(['system info', 'health', 'sys inf']);
    expect(searchHistory(history, 'inf')).toEqual({ line: 'sys inf', index: 2 });
    expect(searchHistory(history, 'inf', 2)).toEqual({ line: 'system info', index: 0 });
    expect(searchHistory(history, 'inf', 0)).toBeUndefined();
    expect(searchHistory(history, 'zzz')).toBeUndefined();
  });
});
