// Secrets typed in the console: what the history keeps, what is echoed and
// recalled, and an answer to a secret question typed again at the prompt.
// The real command tree decides which arguments are secret.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groups } from '../../commands/index.js';
import { buildTree } from '../../commands/tree.js';
import { appendHistory, historyRedactor, readHistory } from '../../shell/console/history.js';
import type { KeyPress } from '../../shell/console/keys.js';
import { initialState, reduce, type ConsoleEvent, type ConsoleState, type Effect } from '../../shell/console/state.js';

const redact = historyRedactor(buildTree(groups));
const PROMPT = 'platform@ink01:~$ ';
const KEY = 'psbk1-' + 'A'.repeat(43);

type Input = string | [string, KeyPress] | ConsoleEvent;
const enter: [string, KeyPress] = ['', { return: true }];
const up: [string, KeyPress] = ['', { upArrow: true }];
const tab: [string, KeyPress] = ['', { tab: true }];
const ctrl = (letter: string): [string, KeyPress] => [letter, { ctrl: true }];

function feed(state: ConsoleState, ...inputs: Input[]): { state: ConsoleState; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const input of inputs) {
    const event: ConsoleEvent = typeof input === 'string' ? { kind: 'key', input, key: {} } : Array.isArray(input) ? { kind: 'key', input: input[0], key: input[1] } : input;
    const step = reduce(state, event);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}
const fresh = (history: string[] = []) => initialState(PROMPT, history, undefined, redact);
const echoes = (state: ConsoleState) => state.entries.filter((e) => e.kind === 'echo').map((e) => (e as { text: string }).text);
const ended = (outcome: Extract<ConsoleEvent, { kind: 'run-ended' }>['outcome']): ConsoleEvent => ({ kind: 'run-ended', outcome });

describe('the history keeps no secret', () => {
  it.each([
    [`backup key import ${KEY}`, 'backup key import ***'],
    [`ba ke im ${KEY}`, 'ba ke im ***'],
    [`backup key import "${KEY} with spaces"`, 'backup key import ***'],
    ['notify add error snmp://community@10.0.0.1 mailto:ops@example.net', 'notify add error snmp://***@10.0.0.1 mailto:ops@example.net'],
    ['diag uri ftp://ops:secret@10.0.0.2/x', 'diag uri ftp://ops:***@10.0.0.2/x'],
    ['backup add site sftp://dan:s3cret@10.0.0.3/backups', 'backup add site sftp://dan:***@10.0.0.3/backups'],
    // Words that do not parse are hidden as the audit log hides them.
    ['nosuch ftp://ops:secret@10.0.0.2/x', 'nosuch ftp://ops:***@10.0.0.2/x'],
    ['user password --password=hunter2', 'user password --password=***'],
    ['diag uri ftp://ops:secret@10.0.0.2/x too many', 'diag uri ftp://ops:***@10.0.0.2/x too many'],
    // An unclosed quote: the line as a whole.
    ['diag uri "ftp://ops:secret@10.0.0.2/x', 'diag uri "ftp://ops:***@10.0.0.2/x'],
  ])('%s', (line, kept) => {
    expect(redact(line)).toBe(kept);
  });

  it('keeps a line with nothing secret as typed', () => {
    expect(redact('system   info')).toBe('system   info');
    expect(redact('web weight add "app1:443" 5')).toBe('web weight add "app1:443" 5');
  });

  it('rewrites a history file an older console left with secrets in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ps-history-'));
    try {
      const file = join(dir, 'root');
      writeFileSync(file, `health\nbackup key import ${KEY}\ndiag uri ftp://ops:secret@h/x\n`, { mode: 0o600 });
      expect(readHistory(file, redact)).toEqual(['health', 'backup key import ***', 'diag uri ftp://ops:***@h/x']);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain(KEY);
      expect(text).not.toContain('secret');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      appendHistory(dir, file, 'system info');
      expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toEqual(['health', 'backup key import ***', 'diag uri ftp://ops:***@h/x', 'system info']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('console reducer: secrets typed at the prompt', () => {
  it('echoes and remembers the line redacted, but runs it as typed', () => {
    const { state, effects } = feed(fresh(), `backup key import ${KEY}`, enter);
    expect(effects).toEqual([
      { kind: 'remember', line: 'backup key import ***' },
      { kind: 'run', words: ['backup', 'key', 'import', KEY] },
    ]);
    expect(echoes(state)).toEqual([`${PROMPT}backup key import ***`]);
    expect(state.history.entries).toEqual(['backup key import ***']);
  });

  it('Up and Ctrl-R give back the redacted line', () => {
    const ran = feed(fresh(), 'diag uri ftp://ops:secret@10.0.0.2/x', enter, ended({ kind: 'result', blocks: [] })).state;
    expect(feed(ran, up).state.line.text).toBe('diag uri ftp://ops:***@10.0.0.2/x');
    const search = feed(ran, ctrl('r'), 'diag').state;
    expect(search.mode).toEqual({ kind: 'search', query: 'diag', match: { line: 'diag uri ftp://ops:***@10.0.0.2/x', index: 0 } });
  });

  it('Ctrl-C, ? and Tab echo the line redacted', () => {
    const line = 'notify add error snmp://community@10.0.0.1';
    expect(echoes(feed(fresh(), line, ctrl('c')).state)).toEqual([`${PROMPT}notify add error snmp://***@10.0.0.1^C`]);
    expect(echoes(feed(fresh(), line, '?').state)).toEqual([`${PROMPT}notify add error snmp://***@10.0.0.1?`]);
    const before = line + ' ';
    const listed = feed(fresh(), before, tab, { kind: 'completed', before, partial: '', candidates: ['snmp://', 'mailto:'] }).state;
    expect(echoes(listed)).toEqual([`${PROMPT}notify add error snmp://***@10.0.0.1 `]);
  });

  it('never runs nor keeps the answer to a secret question typed again at the prompt', () => {
    const question = { text: 'new password for ann', yesNo: false, secret: true };
    const asked = feed(fresh(), 'user password ann', enter, { kind: 'run-asks', question, initial: '' }).state;
    const answered = feed(asked, 'weakpass', enter);
    expect(answered.effects).toEqual([{ kind: 'answer', value: 'weakpass' }]);
    const failed = feed(answered.state, ended({ kind: 'error', message: 'the password needs 12 characters or more; nothing changed' })).state;
    const { state, effects } = feed(failed, 'weakpass', enter);
    expect(effects).toEqual([]);
    expect(state.history.entries).toEqual(['user password ann']);
    expect(echoes(state).at(-1)).toBe(`${PROMPT}***`);
    expect(state.entries.at(-1)).toMatchObject({ kind: 'error', text: expect.stringContaining('not run') });
    expect(JSON.stringify(state)).not.toContain('weakpass');
    // Only the next line is checked: the one after runs as usual.
    expect(feed(state, 'health', enter).effects).toEqual([{ kind: 'remember', line: 'health' }, { kind: 'run', words: ['health'] }]);
  });

  it('a line entered before the command tree has loaded runs once it has, redacted; exit does not wait', () => {
    const loading = initialState(PROMPT, [], undefined, null);
    const entered = feed(loading, `backup key import ${KEY}`, enter);
    expect(entered.effects).toEqual([]);
    expect(entered.state.mode).toEqual({ kind: 'running', progress: 'starting' });
    expect(entered.state.entries).toEqual([]);
    const ready = feed(entered.state, { kind: 'redactor-ready', redact, history: ['health'] });
    expect(ready.effects).toEqual([
      { kind: 'remember', line: 'backup key import ***' },
      { kind: 'run', words: ['backup', 'key', 'import', KEY] },
    ]);
    expect(echoes(ready.state)).toEqual([`${PROMPT}backup key import ***`]);
    expect(ready.state.history.entries).toEqual(['health', 'backup key import ***']);
    expect(feed(loading, 'exit', enter).effects).toEqual([{ kind: 'remember', line: 'exit' }, { kind: 'exit' }]);
  });

  it('Ctrl-L and "clear" clear the screen; "clear" is not sent to platformd', () => {
    const before = feed(fresh(), 'sys').state;
    const cleared = feed(before, ctrl('l'));
    expect(cleared.effects).toEqual([{ kind: 'clear-screen' }]);
    expect(cleared.state.line).toEqual(before.line);
    const typed = feed(fresh(), 'clear', enter);
    expect(typed.effects).toEqual([{ kind: 'remember', line: 'clear' }, { kind: 'clear-screen' }]);
    expect(typed.state.mode).toEqual({ kind: 'edit' });
  });
});
