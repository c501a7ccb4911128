// The console's reducer, mode by mode and key by key: plain data in, plain
// data out, no terminal and no daemon.

import { describe, expect, it } from 'vitest';
import type { Block } from '../../core/reply.js';
import type { KeyPress } from '../../shell/console/keys.js';
import { initialState, reduce, type ConsoleEvent, type ConsoleState, type Effect, type EntryData } from '../../shell/console/state.js';

const PROMPT = 'platform@ink01:~$ ';

type Press = [string, KeyPress];
const key = {
  enter: ['', { return: true }],
  tab: ['', { tab: true }],
  escape: ['', { escape: true }],
  up: ['', { upArrow: true }],
  down: ['', { downArrow: true }],
  left: ['', { leftArrow: true }],
  right: ['', { rightArrow: true }],
  home: ['', { home: true }],
  end: ['', { end: true }],
  backspace: ['', { backspace: true }],
  ctrl: (letter: string): Press => [letter, { ctrl: true }],
  meta: (letter: string): Press => [letter, { meta: true }],
} satisfies Record<string, Press | ((letter: string) => Press)>;

/** A string is typed as it is; a Press is one key. */
type Input = string | Press | ConsoleEvent;

function toEvent(input: Input): ConsoleEvent {
  if (typeof input === 'string') return { kind: 'key', input, key: {} };
  if (Array.isArray(input)) return { kind: 'key', input: input[0], key: input[1] };
  return input;
}

/** Feeds the inputs one by one; returns the last state and every effect asked for. */
function feed(state: ConsoleState, ...inputs: Input[]): { state: ConsoleState; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const input of inputs) {
    const step = reduce(state, toEvent(input));
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}

const fresh = (history: string[] = []) => initialState(PROMPT, history);
const typed = (text: string, history: string[] = []) => feed(fresh(history), text).state;
/** The entries added, without their ids. */
const added = (before: ConsoleState, after: ConsoleState): EntryData[] => after.entries.slice(before.entries.length).map(({ id: _, ...entry }) => entry as EntryData);
const running = () => feed(fresh(), 'system info', key.enter).state;
const asked = (question: { text: string; yesNo: boolean; secret: boolean }, initial = '') =>
  feed(running(), { kind: 'run-progress', text: 'checking' }, { kind: 'run-asks', question, initial }).state;

describe('console reducer: editing the line', () => {
  it('starts at an empty line in edit mode with the prompt', () => {
    const state = fresh();
    expect(state.mode).toEqual({ kind: 'edit' });
    expect(state.line).toEqual({ text: '', cursor: 0 });
    expect(state.prompt).toBe(PROMPT);
  });

  it('inserts what is typed at the cursor', () => {
    const { state } = feed(fresh(), 'sys inf', key.home, 'x');
    expect(state.line).toEqual({ text: 'xsys inf', cursor: 1 });
  });

  it('turns line breaks and tabs inside pasted text into spaces', () => {
    expect(feed(fresh(), 'a\tb\nc').state.line.text).toBe('a b c');
  });

  it.each([
    ['Left', key.left, 6],
    ['Right at the end', key.right, 7],
    ['Home', key.home, 0],
    ['End', key.end, 7],
    ['Ctrl-A', key.ctrl('a'), 0],
    ['Ctrl-E', key.ctrl('e'), 7],
    ['Ctrl-B', key.ctrl('b'), 6],
    ['Ctrl-F at the end', key.ctrl('f'), 7],
    ['Ctrl-Left', ['', { leftArrow: true, ctrl: true }] as Press, 4],
    ['Alt-Left', ['', { leftArrow: true, meta: true }] as Press, 4],
    ['Alt-B (Esc then b)', key.meta('b'), 4],
  ])('moves the cursor with %s', (_, press, cursor) => {
    const { state } = feed(fresh(), 'sys inf', press);
    expect(state.line).toEqual({ text: 'sys inf', cursor });
  });

  it.each([
    ['Ctrl-Right', ['', { rightArrow: true, ctrl: true }] as Press],
    ['Alt-Right', ['', { rightArrow: true, meta: true }] as Press],
    ['Alt-F (Esc then f)', key.meta('f')],
  ])('moves a word right with %s', (_, press) => {
    const { state } = feed(fresh(), 'sys inf', key.home, press);
    expect(state.line.cursor).toBe(3);
  });

  it.each([
    ['Backspace', key.backspace, 'sys in', 6],
    ['Ctrl-H', key.ctrl('h'), 'sys in', 6],
    ['Delete as sent by most terminals (no input)', ['', { delete: true }] as Press, 'sys in', 6],
    ['Ctrl-U', key.ctrl('u'), '', 0],
    ['Ctrl-W', key.ctrl('w'), 'sys ', 4],
  ])('deletes with %s', (_, press, text, cursor) => {
    const { state } = feed(fresh(), 'sys inf', press);
    expect(state.line).toEqual({ text, cursor });
  });

  it('kills to the end of the line with Ctrl-K', () => {
    const { state } = feed(fresh(), 'sys inf', key.home, key.right, key.ctrl('k'));
    expect(state.line).toEqual({ text: 's', cursor: 1 });
  });

  it('ignores a lone Esc, an unknown Meta key and an unknown Ctrl key', () => {
    const before = typed('sys');
    for (const press of [key.escape, key.meta('x'), key.ctrl('z')]) {
      const { state, effects } = feed(before, press);
      expect(state).toEqual(before);
      expect(effects).toEqual([]);
    }
  });

  it('does not take Object property names for Ctrl or Meta keys', () => {
    const before = typed('sys');
    expect(feed(before, key.ctrl('constructor')).state).toEqual(before);
    expect(feed(before, key.meta('toString')).state).toEqual(before);
  });
});

describe('console reducer: Ctrl-C and Ctrl-D at the prompt', () => {
  it('Ctrl-C drops the line and echoes it with ^C', () => {
    const before = typed('sys inf');
    const { state, effects } = feed(before, key.ctrl('c'));
    expect(state.line).toEqual({ text: '', cursor: 0 });
    expect(added(before, state)).toEqual([{ kind: 'echo', text: `${PROMPT}sys inf^C` }]);
    expect(effects).toEqual([]);
  });

  it('Ctrl-D on an empty line leaves', () => {
    expect(feed(fresh(), key.ctrl('d')).effects).toEqual([{ kind: 'exit' }]);
  });

  it('Ctrl-D on a line deletes the character under the cursor and stays', () => {
    const { state, effects } = feed(fresh(), 'sys', key.home, key.ctrl('d'));
    expect(state.line).toEqual({ text: 'ys', cursor: 0 });
    expect(effects).toEqual([]);
  });

  it('Ctrl-D at the end of a line changes nothing and stays', () => {
    const { state, effects } = feed(fresh(), 'sys', key.ctrl('d'));
    expect(state.line).toEqual({ text: 'sys', cursor: 3 });
    expect(effects).toEqual([]);
  });
});

describe('console reducer: Enter', () => {
  it('echoes, remembers and runs the line, and waits for it', () => {
    const before = typed('  system   info ');
    const { state, effects } = feed(before, key.enter);
    expect(added(before, state)).toEqual([{ kind: 'echo', text: `${PROMPT}  system   info ` }]);
    expect(effects).toEqual([
      { kind: 'remember', line: 'system   info' },
      { kind: 'run', words: ['system', 'info'] },
    ]);
    expect(state.mode).toEqual({ kind: 'running', progress: '' });
    expect(state.line.text).toBe('');
    expect(state.history.entries).toEqual(['system   info']);
  });

  it('groups quoted words', () => {
    expect(feed(fresh(), `notify test "a b" 'c d'`, key.enter).effects).toContainEqual({ kind: 'run', words: ['notify', 'test', 'a b', 'c d'] });
  });

  it.each(['', '   '])('on a blank line (%j) only echoes the prompt', (text) => {
    const before = typed(text);
    const { state, effects } = feed(before, key.enter);
    expect(added(before, state)).toEqual([{ kind: 'echo', text: PROMPT + text }]);
    expect(effects).toEqual([]);
    expect(state.mode.kind).toBe('edit');
    expect(state.history.entries).toEqual([]);
  });

  it.each(['exit', 'quit', ' exit '])('leaves on %j, after remembering it', (text) => {
    const { state, effects } = feed(fresh(), text, key.enter);
    expect(effects).toEqual([
      { kind: 'remember', line: text.trim() },
      { kind: 'exit' },
    ]);
    expect(state.mode.kind).toBe('edit');
  });

  it('shows an unclosed quote as an error, remembers the line and runs nothing', () => {
    const before = typed('web cert add "x');
    const { state, effects } = feed(before, key.enter);
    expect(added(before, state)).toEqual([
      { kind: 'echo', text: `${PROMPT}web cert add "x` },
      { kind: 'error', text: 'unclosed " quote' },
    ]);
    expect(effects).toEqual([{ kind: 'remember', line: 'web cert add "x' }]);
    expect(state.mode.kind).toBe('edit');
  });

  it('does not keep the same line twice in a row in the history', () => {
    const { state } = feed(fresh(['health']), 'health', key.enter, { kind: 'run-ended', outcome: { kind: 'cancelled' } });
    expect(state.history.entries).toEqual(['health']);
  });

  it('gives every entry its own id, in order', () => {
    const { state } = feed(fresh(), 'a', key.ctrl('c'), 'b', key.ctrl('c'), '   ', key.enter);
    expect(state.entries.map((e) => e.id)).toEqual([0, 1, 2]);
    expect(state.nextId).toBe(3);
  });
});

describe('console reducer: Tab and ?', () => {
  it('Tab asks for candidates for the text before the cursor', () => {
    const before = typed('sys inf');
    const { state, effects } = feed(before, key.left, key.left, key.tab);
    expect(effects).toEqual([{ kind: 'complete', before: 'sys i' }]);
    expect(state.entries).toEqual(before.entries);
  });

  it('a single candidate completes the word and adds a space', () => {
    const { state } = feed(typed('sys'), { kind: 'completed', before: 'sys', partial: 'sys', candidates: ['system'] });
    expect(state.line).toEqual({ text: 'system ', cursor: 7 });
  });

  it('a single candidate before a space adds no second space', () => {
    const { state } = feed(fresh(), 'sys info', key.home, key.right, key.right, key.right, { kind: 'completed', before: 'sys', partial: 'sys', candidates: ['system'] });
    expect(state.line).toEqual({ text: 'system info', cursor: 6 });
  });

  it('several candidates sharing a longer prefix extend the word, without a space', () => {
    const { state } = feed(typed('system m'), { kind: 'completed', before: 'system m', partial: 'm', candidates: ['maintenance-mode', 'maintenance-window'] });
    expect(state.line).toEqual({ text: 'system maintenance-', cursor: 19 });
  });

  it('several candidates with nothing more in common are listed under the echoed line', () => {
    const before = typed('web ');
    const { state } = feed(before, { kind: 'completed', before: 'web ', partial: '', candidates: ['cert', 'weight'] });
    expect(added(before, state)).toEqual([
      { kind: 'echo', text: `${PROMPT}web ` },
      { kind: 'candidates', items: ['cert', 'weight'] },
    ]);
    expect(state.line.text).toBe('web ');
  });

  it.each([
    ['the word was changed meanwhile', feed(fresh(), 'sys', key.ctrl('u'), 'web').state],
    ['more was typed meanwhile', typed('syst')],
    ['the line was run meanwhile', running()],
  ])('an answer that comes too late changes nothing: %s', (_, before) => {
    expect(feed(before, { kind: 'completed', before: 'sys', partial: 'sys', candidates: ['system'] }).state).toEqual(before);
    expect(feed(before, { kind: 'completed', before: 'sys', partial: 'sys', candidates: ['system', 'snmp'] }).state).toEqual(before);
  });

  it('no candidates change nothing', () => {
    const before = typed('zz');
    expect(feed(before, { kind: 'completed', before: 'zz', partial: 'zz', candidates: [] }).state).toEqual(before);
  });

  it('? echoes the line with ?, asks for help at the cursor and keeps the line', () => {
    const before = feed(fresh(), 'system info', key.left, key.left, key.left, key.left, key.left).state;
    const { state, effects } = feed(before, '?');
    expect(added(before, state)).toEqual([{ kind: 'echo', text: `${PROMPT}system info?` }]);
    expect(effects).toEqual([{ kind: 'help', before: 'system' }]);
    expect(state.line).toEqual(before.line);
  });

  it('? with Meta (Esc then ?) is not help', () => {
    const before = typed('sys');
    expect(feed(before, key.meta('?'))).toEqual({ state: before, effects: [] });
  });

  it('a ? inside pasted text is text', () => {
    expect(feed(fresh(), 'a?b').state.line.text).toBe('a?b');
  });

  it('the help that comes back is listed', () => {
    const before = typed('system');
    const entries = [{ word: 'info', summary: "Show the node's identity" }];
    expect(added(before, feed(before, { kind: 'help-listed', entries }).state)).toEqual([{ kind: 'help', entries }]);
  });

  it('a failed look-up is shown as an error and the line stays', () => {
    const before = typed('system');
    const { state } = feed(before, { kind: 'lookup-failed', message: 'platformd is not running' });
    expect(added(before, state)).toEqual([{ kind: 'error', text: 'platformd is not running' }]);
    expect(state.line).toEqual(before.line);
  });
});

describe('console reducer: Up and Down through the history', () => {
  const history = ['health', 'system info', 'web cert details'];

  it('Up recalls the newest line, then older ones, the cursor at the end', () => {
    let { state } = feed(fresh(history), key.up);
    expect(state.line).toEqual({ text: 'web cert details', cursor: 16 });
    ({ state } = feed(state, key.up, key.up));
    expect(state.line.text).toBe('health');
  });

  it('Up at the oldest line stays there', () => {
    expect(feed(fresh(history), key.up, key.up, key.up, key.up).state.line.text).toBe('health');
  });

  it('Down walks forward and gives back the line that was being typed', () => {
    let { state } = feed(fresh(history), 'draft', key.up, key.up, key.down);
    expect(state.line.text).toBe('web cert details');
    ({ state } = feed(state, key.down));
    expect(state.line).toEqual({ text: 'draft', cursor: 5 });
  });

  it('Down at the line being typed changes nothing', () => {
    const before = typed('draft', history);
    expect(feed(before, key.down).state).toEqual(before);
  });

  it('Up with no history changes nothing', () => {
    const before = typed('draft');
    expect(feed(before, key.up).state.line).toEqual(before.line);
  });

  it('after Enter, Up starts again from the newest line', () => {
    const { state } = feed(fresh(history), key.up, key.up, key.up, key.enter, { kind: 'run-ended', outcome: { kind: 'cancelled' } }, key.up);
    expect(state.line.text).toBe('health');
    expect(state.history.entries.at(-1)).toBe('health');
  });
});

describe('console reducer: Ctrl-R history search', () => {
  const history = ['system info', 'health', 'sys inf', 'web cert details'];
  const search = (...inputs: Input[]) => feed(fresh(history), key.ctrl('r'), ...inputs).state;

  it('Ctrl-R opens an empty search', () => {
    expect(search().mode).toEqual({ kind: 'search', query: '' });
  });

  it('finds the newest line holding what is typed', () => {
    expect(search('inf').mode).toEqual({ kind: 'search', query: 'inf', match: { line: 'sys inf', index: 2 } });
  });

  it('Ctrl-R again finds the next older match, and stays on the oldest', () => {
    expect(search('inf', key.ctrl('r')).mode).toMatchObject({ match: { line: 'system info', index: 0 } });
    expect(search('inf', key.ctrl('r'), key.ctrl('r')).mode).toMatchObject({ match: { line: 'system info', index: 0 } });
  });

  it('nothing found leaves no match', () => {
    expect(search('nope').mode).toEqual({ kind: 'search', query: 'nope', match: undefined });
  });

  it('Backspace shortens the query and searches again from the newest', () => {
    expect(search('infx', key.backspace).mode).toEqual({ kind: 'search', query: 'inf', match: { line: 'sys inf', index: 2 } });
    expect(search('h', ['', { delete: true }]).mode).toMatchObject({ query: '' });
  });

  it('Enter runs the match', () => {
    const { state, effects } = feed(fresh(history), key.ctrl('r'), 'heal', key.enter);
    expect(effects).toEqual([
      { kind: 'remember', line: 'health' },
      { kind: 'run', words: ['health'] },
    ]);
    expect(state.entries.map((e) => e.kind === 'echo' && e.text)).toEqual([`${PROMPT}health`]);
    expect(state.mode.kind).toBe('running');
    expect(state.line.text).toBe('');
  });

  it('Enter with no match runs the line as it was', () => {
    const { effects } = feed(fresh(history), 'uptime', key.ctrl('r'), 'zzz', key.enter);
    expect(effects).toContainEqual({ kind: 'run', words: ['uptime'] });
  });

  it.each([
    ['Esc', key.escape],
    ['Ctrl-C', key.ctrl('c')],
  ])('%s goes back to the prompt, the line untouched', (_, press) => {
    const { state, effects } = feed(fresh(history), 'draft', key.ctrl('r'), 'inf', press);
    expect(state.mode).toEqual({ kind: 'edit' });
    expect(state.line).toEqual({ text: 'draft', cursor: 5 });
    expect(effects).toEqual([]);
  });

  it.each([
    ['Left', key.left],
    ['Right', key.right],
    ['Up', key.up],
    ['Down', key.down],
    ['Home', key.home],
    ['End', key.end],
    ['Ctrl-A', key.ctrl('a')],
  ])('%s takes the match onto the line to edit', (_, press) => {
    const state = search('cert', press);
    expect(state.mode).toEqual({ kind: 'edit' });
    expect(state.line).toEqual({ text: 'web cert details', cursor: 16 });
  });

  it('a key with no input and no meaning changes nothing', () => {
    const before = search('inf');
    expect(feed(before, ['', { tab: true }]).state).toEqual(before);
  });
});

describe('console reducer: a running command', () => {
  it('ignores typing, Enter and Tab while it runs', () => {
    const before = running();
    for (const input of ['abc', key.enter, key.tab, key.up, key.ctrl('d'), '?'] as Input[]) {
      expect(feed(before, input)).toEqual({ state: before, effects: [] });
    }
  });

  it('Ctrl-C asks to cancel it, and keeps waiting for its end', () => {
    const { state, effects } = feed(running(), key.ctrl('c'));
    expect(effects).toEqual([{ kind: 'cancel' }]);
    expect(state.mode.kind).toBe('running');
  });

  it('shows its progress on the live line and in the scroll-back', () => {
    const before = running();
    const { state } = feed(before, { kind: 'run-progress', text: 'contacting node02' });
    expect(state.mode).toEqual({ kind: 'running', progress: 'contacting node02' });
    expect(added(before, state)).toEqual([{ kind: 'info', text: 'contacting node02' }]);
  });

  it('a reply is shown as its blocks and the prompt comes back', () => {
    const blocks = [{ kind: 'text' as const, text: 'ok' }];
    const before = running();
    const { state } = feed(before, { kind: 'run-ended', outcome: { kind: 'result', blocks } });
    expect(added(before, state)).toEqual([{ kind: 'blocks', blocks }]);
    expect(state.mode).toEqual({ kind: 'edit' });
  });

  it.each([
    [{ kind: 'error', message: 'did you mean "system"' }, 'did you mean "system"'],
    [{ kind: 'unreachable', message: 'platformd is not running (no socket at /x)' }, 'platformd is not running (no socket at /x)\n(only exit, quit, clear and history work until it is back)'],
    [{ kind: 'cancelled' }, '^C cancelled'],
  ] as const)('an ending without a reply (%j) is shown as an error', (outcome, text) => {
    const before = running();
    const { state } = feed(before, { kind: 'run-ended', outcome });
    expect(added(before, state)).toEqual([{ kind: 'error', text }]);
    expect(state.mode).toEqual({ kind: 'edit' });
  });

  it('progress arriving at the prompt is shown and changes no mode', () => {
    const { state } = feed(fresh(), { kind: 'run-progress', text: 'late' });
    expect(state.mode).toEqual({ kind: 'edit' });
    expect(state.entries.at(-1)).toMatchObject({ kind: 'info', text: 'late' });
  });
});

describe('console reducer: questions', () => {
  const yesNo = { text: 'Start maintenance mode on this node?', yesNo: true, secret: false };
  const line = { text: 'Hostname', yesNo: false, secret: false };
  const secret = { text: 'password of admin@10.0.0.5', yesNo: false, secret: true };

  it('a question takes the live line, its answer starting empty or at the default', () => {
    expect(asked(yesNo).mode).toEqual({ kind: 'question', question: yesNo, progress: 'checking' });
    expect(asked(yesNo).answer).toEqual({ text: '', cursor: 0 });
    expect(asked(line, 'node01').answer).toEqual({ text: 'node01', cursor: 6 });
  });

  it('typing edits the answer, not the command line', () => {
    const { state } = feed(asked(line, 'node01'), key.ctrl('u'), 'web02', key.left, key.backspace);
    expect(state.answer).toEqual({ text: 'web2', cursor: 3 });
    expect(state.line.text).toBe('');
  });

  it.each([
    ['y', true],
    ['yes', true],
    [' YES ', true],
    ['Y', true],
    ['n', false],
    ['', false],
    ['yess', false],
    ['sure', false],
  ])('yes/no: %j answers %s', (text, value) => {
    const { effects } = feed(asked(yesNo), text, key.enter);
    expect(effects).toEqual([{ kind: 'answer', value }]);
  });

  it('Enter echoes the question and answer, and the command runs on with its progress', () => {
    const before = asked(yesNo);
    const { state } = feed(before, 'n', key.enter);
    expect(added(before, state)).toEqual([{ kind: 'echo', text: 'Start maintenance mode on this node? [y/N]: n' }]);
    expect(state.mode).toEqual({ kind: 'running', progress: 'checking' });
    expect(state.answer).toEqual({ text: '', cursor: 0 });
  });

  it('a line question answers the text as typed', () => {
    const before = asked(line, 'node01');
    const { state, effects } = feed(before, key.backspace, '2', key.enter);
    expect(effects).toEqual([{ kind: 'answer', value: 'node02' }]);
    expect(added(before, state)).toEqual([{ kind: 'echo', text: 'Hostname: node02' }]);
  });

  it('a secret is answered but never echoed', () => {
    const before = asked(secret);
    const { state, effects } = feed(before, 's3cret!', key.enter);
    expect(effects).toEqual([{ kind: 'answer', value: 's3cret!' }]);
    expect(added(before, state)).toEqual([{ kind: 'echo', text: 'password of admin@10.0.0.5: ' }]);
    expect(JSON.stringify(state.entries)).not.toContain('s3cret');
  });

  it.each([
    ['yes/no', yesNo, false],
    ['line', line, ''],
  ] as const)('Ctrl-C on a %s question answers %j without an echo', (_, question, value) => {
    const before = asked(question, 'x');
    const { state, effects } = feed(before, key.ctrl('c'));
    expect(effects).toEqual([{ kind: 'answer', value }]);
    expect(state.entries).toEqual(before.entries);
    expect(state.mode).toEqual({ kind: 'running', progress: 'checking' });
  });

  it('keys that do not edit (Tab, Up, Esc) change nothing', () => {
    const before = asked(line, 'node01');
    for (const press of [key.tab, key.up, key.down, key.escape]) expect(feed(before, press)).toEqual({ state: before, effects: [] });
  });

  it('progress during a question keeps the question and is shown after the answer', () => {
    const { state } = feed(asked(yesNo), { kind: 'run-progress', text: 'still checking' });
    expect(state.mode).toEqual({ kind: 'question', question: yesNo, progress: 'still checking' });
    expect(feed(state, key.enter).state.mode).toEqual({ kind: 'running', progress: 'still checking' });
  });

  it('a command that ends while asking brings the prompt back', () => {
    const { state } = feed(asked(yesNo), { kind: 'run-ended', outcome: { kind: 'error', message: 'connection closed' } });
    expect(state.mode).toEqual({ kind: 'edit' });
  });
});

describe('console reducer: purity', () => {
  it('never changes the state it is given', () => {
    const deepFreeze = <T>(value: T): T => {
      if (value && typeof value === 'object') {
        Object.freeze(value);
        for (const inner of Object.values(value)) deepFreeze(inner);
      }
      return value;
    };
    // Frozen objects throw when written to (test files are strict mode).
    const start = deepFreeze(fresh(['health', 'system info']));
    let state = start;
    const script: Input[] = ['sys', key.tab, { kind: 'completed', before: 'sys', partial: 'sys', candidates: ['system'] }, 'info', key.up, key.down, key.ctrl('r'), 'hea', key.enter];
    script.push({ kind: 'run-asks', question: { text: 'Sure?', yesNo: true, secret: false }, initial: '' }, 'y', key.enter, { kind: 'run-progress', text: 'p' });
    script.push({ kind: 'run-ended', outcome: { kind: 'result', blocks: [] } }, '?', { kind: 'help-listed', entries: [] }, key.ctrl('c'));
    for (const input of script) state = deepFreeze(reduce(state, toEvent(input)).state);
    expect(state.mode.kind).toBe('edit');
    expect(state.history.entries).toEqual(['health', 'system info', 'health']);
    expect(start.history.entries).toEqual(['health', 'system info']);
  });

  it('gives the same step for the same state and event', () => {
    const state = typed('sys inf', ['a']);
    for (const input of [key.enter, key.tab, key.up, '?', key.ctrl('d')] as Input[]) {
      expect(reduce(state, toEvent(input))).toEqual(reduce(state, toEvent(input)));
    }
  });
});

describe('console reducer: a long text in the pager', () => {
  const small = { columns: 40, rows: 7 }; // 5 rows of text at a time
  const long = Array.from({ length: 20 }, (_, i) => `log line ${i}`).join('\n');
  const ran = (blocks: Block[]) => feed(initialState(PROMPT, [], small), 'log view platform', key.enter, { kind: 'run-ended', outcome: { kind: 'result', blocks } });

  it('a text that fits stays in the scroll-back with the rest of the reply', () => {
    const blocks: Block[] = [{ kind: 'page', title: 'short.log', text: 'a\nb' }];
    const { state } = ran(blocks);
    expect(state.mode).toEqual({ kind: 'edit' });
    expect(state.entries.at(-1)).toMatchObject({ kind: 'blocks', blocks });
  });

  it('a text that does not fit is paged, after the rest of the reply', () => {
    const warning: Block = { kind: 'warning', text: '(the last 4 MB of platformd.log)' };
    const { state } = ran([warning, { kind: 'page', title: 'platformd.log', text: long }]);
    expect(state.entries.at(-1)).toMatchObject({ kind: 'blocks', blocks: [warning] });
    expect(state.mode).toMatchObject({ kind: 'page', pager: { title: 'platformd.log', top: 0, height: 5 }, queue: [] });
  });

  it('a reply that is only a long text adds nothing to the scroll-back until it is quit', () => {
    const { state } = ran([{ kind: 'page', title: 'platformd.log', text: long }]);
    expect(state.entries.map((e) => e.kind)).toEqual(['echo']);
  });

  it('keys move through it; typing does not reach the line', () => {
    const { state } = feed(ran([{ kind: 'page', title: 'platformd.log', text: long }]).state, ' ', 'j');
    expect(state.mode).toMatchObject({ kind: 'page', pager: { top: 6 } });
    expect(state.line.text).toBe('');
  });

  it.each([
    ['q', 'q' as Input],
    ['Ctrl-C', key.ctrl('c')],
    ['Esc', key.escape],
  ])('%s quits, leaving the last screen in the scroll-back, and the prompt comes back', (_, press) => {
    const before = feed(ran([{ kind: 'page', title: 'platformd.log', text: long }]).state, ' ').state;
    const { state, effects } = feed(before, press);
    expect(state.mode).toEqual({ kind: 'edit' });
    expect(added(before, state)).toEqual([{ kind: 'blocks', blocks: [{ kind: 'text', text: 'log line 5\nlog line 6\nlog line 7\nlog line 8\nlog line 9' }] }]);
    expect(effects).toEqual([]);
  });

  it('several long texts are paged one after the other', () => {
    const { state } = ran([
      { kind: 'page', title: 'one.log', text: long },
      { kind: 'page', title: 'two.log', text: long },
    ]);
    const second = feed(state, 'q').state;
    expect(second.mode).toMatchObject({ kind: 'page', pager: { title: 'two.log' }, queue: [] });
    expect(feed(second, 'q').state.mode).toEqual({ kind: 'edit' });
  });

  it('a resize reflows the pager and keeps its place', () => {
    const paged = feed(ran([{ kind: 'page', title: 'platformd.log', text: long }]).state, ' ').state;
    const { state } = feed(paged, { kind: 'resize', screen: { columns: 80, rows: 12 } });
    expect(state.screen).toEqual({ columns: 80, rows: 12 });
    expect(state.mode).toMatchObject({ kind: 'page', pager: { top: 5, height: 10 } });
  });

  it('a resize at the prompt only records the size, which decides what the next reply pages', () => {
    const { state } = feed(fresh(), { kind: 'resize', screen: { columns: 80, rows: 50 } });
    expect(state.screen).toEqual({ columns: 80, rows: 50 });
    expect(state.mode).toEqual({ kind: 'edit' });
    const reply = feed(state, 'log view x', key.enter, { kind: 'run-ended', outcome: { kind: 'result', blocks: [{ kind: 'page', title: 'x', text: long }] } }).state;
    expect(reply.mode).toEqual({ kind: 'edit' }); // 20 lines fit on 50 rows
  });
});
