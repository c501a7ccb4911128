// The interactive console (Ink). Finished commands and their output go to
// <Static> history and scroll away; the live region below is one line (the
// prompt, a spinner, a question or a history search), so a terminal resize
// only ever redraws that line.

import { appendFileSync, mkdirSync } from 'node:fs';
import { useEffect, useReducer, useRef, useState } from 'react';
import { Box, Static, Text, render, useApp, useInput, useWindowSize, type Key } from 'ink';
import type { Block } from '../../core/reply.js';
import { splitWords } from '../../commands/tree.js';
import type { CallerClaim } from '../../core/protocol.js';
import { escapeControls } from '../../core/escape.js';
import { DaemonUnreachable, request } from '../client.js';
import { renderBlock } from '../../core/text.js';
import { applyCompletion, commonPrefix, edit, emptyLine, History, type EditKey, type LineState } from './editor.js';

export interface ConsoleOptions {
  socket: string;
  caller: CallerClaim;
  hostname: string;
  daemonUp: boolean;
  history: string[];
  historyFile: string;
  historyDir: string;
}

type EntryData =
  | { kind: 'echo'; text: string }
  | { kind: 'blocks'; blocks: Block[] }
  | { kind: 'error'; text: string }
  | { kind: 'info'; text: string };
type Entry = EntryData & { id: number };

type Mode =
  | { kind: 'edit' }
  | { kind: 'running'; progress: string; abort: AbortController }
  | { kind: 'question'; text: string; yesNo: boolean; secret: boolean; resolve: (answer: string | boolean) => void }
  | { kind: 'search'; query: string; match?: { line: string; index: number } };

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Keys that edit the line, the same in every mode that has a line. */
function editKeyOf(input: string, key: Key): EditKey | undefined {
  if (key.leftArrow) return { kind: key.ctrl || key.meta ? 'word-left' : 'left' };
  if (key.rightArrow) return { kind: key.ctrl || key.meta ? 'word-right' : 'right' };
  if (key.home) return { kind: 'home' };
  if (key.end) return { kind: 'end' };
  if (key.backspace) return { kind: 'backspace' };
  if (key.delete) return { kind: input === '' ? 'backspace' : 'delete' };
  if (key.ctrl) {
    const byLetter: Record<string, EditKey> = {
      a: { kind: 'home' },
      e: { kind: 'end' },
      u: { kind: 'kill-before' },
      k: { kind: 'kill-after' },
      w: { kind: 'kill-word' },
      b: { kind: 'left' },
      f: { kind: 'right' },
      h: { kind: 'backspace' },
    };
    return byLetter[input];
  }
  if (key.meta && input === 'b') return { kind: 'word-left' };
  if (key.meta && input === 'f') return { kind: 'word-right' };
  if (input && !key.meta && !key.escape && !key.return && !key.tab && !key.upArrow && !key.downArrow) {
    return { kind: 'insert', text: input.replace(/[\r\n\t]/g, ' ') };
  }
  return undefined;
}

function Console({ options }: { options: ConsoleOptions }) {
  const app = useApp();
  const terminal = useWindowSize();
  const [entries, setEntries] = useState<Entry[]>([]);
  // The line, the answer and the mode live in a ref so that keys arriving in
  // one chunk (typed ahead, pasted, or sent by a script) each see the state
  // the previous key left; `redraw` then renders it.
  const live = useRef<{ line: LineState; answer: LineState; mode: Mode }>({ line: emptyLine, answer: emptyLine, mode: { kind: 'edit' } });
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const update = <K extends 'line' | 'answer' | 'mode'>(key: K, next: (typeof live.current)[K] | ((current: (typeof live.current)[K]) => (typeof live.current)[K])) => {
    live.current[key] = typeof next === 'function' ? (next as (c: (typeof live.current)[K]) => (typeof live.current)[K])(live.current[key]) : next;
    redraw();
  };
  const setLine = (next: LineState | ((l: LineState) => LineState)) => update('line', next);
  const setAnswer = (next: LineState | ((l: LineState) => LineState)) => update('answer', next);
  const setMode = (next: Mode | ((m: Mode) => Mode)) => update('mode', next);
  const [frame, setFrame] = useState(0);
  const history = useRef(new History(options.history));
  const nextId = useRef(0);
  const prompt = `${options.caller.user === 'root' ? 'platform' : options.caller.user}@${options.hostname}:~$ `;

  const push = (...added: EntryData[]) => setEntries((list) => [...list, ...added.map((e) => ({ ...e, id: nextId.current++ }))]);

  const { line, answer, mode } = live.current;
  useEffect(() => {
    if (mode.kind !== 'running') return;
    const timer = setInterval(() => setFrame((f) => f + 1), 80);
    return () => clearInterval(timer);
  }, [mode.kind]);

  const remember = (text: string) => {
    history.current.add(text);
    try {
      // Only inside an existing home: a console without its daemon must not create one.
      mkdirSync(options.historyDir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return; // history is a convenience, never an error
    }
    try {
      appendFileSync(options.historyFile, `${text}\n`, { mode: 0o600 });
    } catch {
      // A read-only or missing home must not break the console.
    }
  };

  const question = (text: string, yesNo: boolean, secret: boolean, initial = '') =>
    new Promise<string | boolean>((resolve) => {
      setAnswer({ text: initial, cursor: initial.length });
      const back = live.current.mode; // the running command's mode, restored after the answer
      setMode({
        kind: 'question',
        text,
        yesNo,
        secret,
        resolve: (value) => {
          setMode(back);
          resolve(value);
        },
      });
    });

  const submit = async (text: string) => {
    push({ kind: 'echo', text: prompt + text });
    const trimmed = text.trim();
    if (!trimmed) return;
    remember(trimmed);
    if (trimmed === 'exit' || trimmed === 'quit') {
      app.exit();
      return;
    }
    let words: string[];
    try {
      words = splitWords(trimmed);
    } catch (error) {
      push({ kind: 'error', text: (error as Error).message });
      return;
    }
    const abort = new AbortController();
    setMode({ kind: 'running', progress: '', abort });
    try {
      const response = await request(
        options.socket,
        { op: 'run', words, caller: options.caller },
        {
          progress: (progress) => {
            push({ kind: 'info', text: progress });
            setMode((m) => (m.kind === 'running' ? { ...m, progress } : m));
          },
          confirm: async (q) => (await question(q, true, false)) === true,
          ask: async (q, initial, secret) => String(await question(q, false, secret, initial ?? '')),
        },
        abort.signal,
      );
      if (response.type === 'result') push({ kind: 'blocks', blocks: response.blocks });
      else if (response.type === 'error') push({ kind: 'error', text: response.message });
    } catch (error) {
      if (error instanceof DaemonUnreachable) push({ kind: 'error', text: `${error.message}; only exit, quit and history work until it is back` });
      else push({ kind: 'error', text: abort.signal.aborted ? '^C cancelled' : (error as Error).message });
    } finally {
      setMode({ kind: 'edit' });
    }
  };

  const completeLine = async () => {
    const line = live.current.line;
    const before = line.text.slice(0, line.cursor);
    try {
      const response = await request(options.socket, { op: 'complete', line: before, caller: options.caller });
      if (response.type !== 'completion' || response.candidates.length === 0) return;
      const { partial, candidates } = response;
      if (candidates.length === 1) return setLine((l) => applyCompletion(l, partial, candidates[0]!, true));
      const shared = commonPrefix(candidates);
      if (shared.length > partial.length) return setLine((l) => applyCompletion(l, partial, shared, false));
      push({ kind: 'echo', text: prompt + line.text }, { kind: 'info', text: columns(candidates, terminal.columns || 80) });
    } catch (error) {
      push({ kind: 'error', text: (error as Error).message });
    }
  };

  const showHelp = async () => {
    const line = live.current.line;
    push({ kind: 'echo', text: `${prompt}${line.text}?` });
    try {
      const response = await request(options.socket, { op: 'help-at', line: line.text.slice(0, line.cursor), caller: options.caller });
      if (response.type === 'help-at') {
        const width = Math.max(0, ...response.entries.map((e) => e.word.length));
        push({ kind: 'info', text: response.entries.map((e) => `  ${e.word.padEnd(width)}  ${e.summary}`).join('\n') || '  (nothing may follow)' });
      } else if (response.type === 'error') push({ kind: 'error', text: response.message });
    } catch (error) {
      push({ kind: 'error', text: (error as Error).message });
    }
  };

  const onKey = (input: string, key: Key) => {
    const ctrl = (letter: string) => key.ctrl && input === letter;
    const { line, answer, mode } = live.current;
    switch (mode.kind) {
      case 'running':
        if (ctrl('c')) mode.abort.abort();
        return;
      case 'question': {
        if (ctrl('c')) return mode.resolve(mode.yesNo ? false : '');
        if (key.return) {
          push({ kind: 'echo', text: `${mode.text}${mode.yesNo ? ' [y/N]' : ''}: ${mode.secret ? '' : answer.text}` });
          return mode.resolve(mode.yesNo ? /^y(es)?$/i.test(answer.text.trim()) : answer.text);
        }
        const editKey = editKeyOf(input, key);
        if (editKey) setAnswer((a) => edit(a, editKey));
        return;
      }
      case 'search': {
        const accept = (run: boolean) => {
          const found = mode.match?.line ?? line.text;
          setMode({ kind: 'edit' });
          if (run) {
            setLine(emptyLine);
            void submit(found);
          } else setLine({ text: found, cursor: found.length });
        };
        if (ctrl('c') || key.escape) return setMode({ kind: 'edit' });
        if (key.return) return accept(true);
        if (ctrl('r')) return setMode({ ...mode, match: history.current.search(mode.query, mode.match?.index) ?? mode.match });
        if (key.backspace || key.delete) {
          const query = mode.query.slice(0, -1);
          return setMode({ kind: 'search', query, match: history.current.search(query) });
        }
        if (key.leftArrow || key.rightArrow || key.upArrow || key.downArrow || key.home || key.end || key.ctrl) return accept(false);
        if (input) {
          const query = mode.query + input;
          return setMode({ kind: 'search', query, match: history.current.search(query) });
        }
        return;
      }
      case 'edit': {
        if (ctrl('c')) {
          push({ kind: 'echo', text: `${prompt}${line.text}^C` });
          return setLine(emptyLine);
        }
        if (ctrl('d')) {
          if (line.text === '') app.exit();
          else setLine((l) => edit(l, { kind: 'delete' }));
          return;
        }
        if (ctrl('r')) return setMode({ kind: 'search', query: '' });
        if (ctrl('l')) return;
        if (key.return) {
          const text = line.text;
          setLine(emptyLine);
          void submit(text);
          return;
        }
        if (key.tab) return void completeLine();
        if (input === '?' && !key.ctrl && !key.meta) return void showHelp();
        if (key.upArrow) {
          const previous = history.current.previous(line.text);
          if (previous !== undefined) setLine({ text: previous, cursor: previous.length });
          return;
        }
        if (key.downArrow) {
          const next = history.current.next();
          if (next !== undefined) setLine({ text: next, cursor: next.length });
          return;
        }
        const editKey = editKeyOf(input, key);
        if (editKey) setLine((l) => edit(l, editKey));
      }
    }
  };
  useInput((input, key) => {
    for (const [i, k] of splitKeys(input, key)) onKey(i, k);
  });

  return (
    <Box flexDirection="column">
      <Static items={entries}>{(entry) => <EntryView key={entry.id} entry={entry} width={terminal.columns || 100} />}</Static>
      <LiveLine mode={mode} line={line} answer={answer} prompt={prompt} frame={frame} />
    </Box>
  );
}

function LiveLine({ mode, line, answer, prompt, frame }: { mode: Mode; line: LineState; answer: LineState; prompt: string; frame: number }) {
  switch (mode.kind) {
    case 'running':
      return (
        <Text color="cyan">
          {SPINNER[frame % SPINNER.length]} {escapeControls(mode.progress) || 'working'} <Text dimColor>(Ctrl-C cancels)</Text>
        </Text>
      );
    case 'question':
      return (
        <Text>
          <Text bold>{escapeControls(mode.text)}</Text>
          {mode.yesNo ? ' [y/N]' : ''}: <Cursor state={mode.secret ? { text: '*'.repeat(answer.text.length), cursor: answer.cursor } : answer} />
        </Text>
      );
    case 'search':
      return (
        <Text>
          (reverse-i-search)'{mode.query}': {mode.match?.line ?? ''}
        </Text>
      );
    case 'edit':
      return (
        <Text>
          <Text color="green">{prompt}</Text>
          <Cursor state={line} />
        </Text>
      );
  }
}

function Cursor({ state }: { state: LineState }) {
  const under = state.text[state.cursor] ?? ' ';
  return (
    <Text>
      {state.text.slice(0, state.cursor)}
      <Text inverse>{under}</Text>
      {state.text.slice(state.cursor + 1)}
    </Text>
  );
}

function EntryView({ entry, width }: { entry: Entry; width: number }) {
  switch (entry.kind) {
    // Text from the daemon (and what was typed) is shown with its control characters escaped.
    case 'echo':
      return <Text>{escapeControls(entry.text)}</Text>;
    case 'info':
      return <Text dimColor>{escapeControls(entry.text, { lines: true })}</Text>;
    case 'error':
      return <Text color="red">{escapeControls(entry.text, { lines: true })}</Text>;
    case 'blocks':
      return (
        <Box flexDirection="column">
          {entry.blocks.map((block, i) =>
            block.kind === 'warning' ? (
              <Text key={i} color="yellow" bold>
                {escapeControls(block.text, { lines: true })}
              </Text>
            ) : (
              <Text key={i}>{renderBlock(block, width)}</Text>
            ),
          )}
        </Box>
      );
  }
}

/** The key a control character stands for when it arrives inside a longer chunk. */
function controlKey(ch: string, base: Key): [string, Key] {
  if (ch === '\r' || ch === '\n') return ['', { ...base, return: true }];
  if (ch === '\t') return ['', { ...base, tab: true }];
  if (ch === '\x7f' || ch === '\b') return ['', { ...base, backspace: true }];
  return [String.fromCharCode(ch.charCodeAt(0) + 96), { ...base, ctrl: true }]; // \x01 = Ctrl-A ...
}

/** Splits a chunk that holds several keys (typed ahead, pasted, scripted) into single keys. */
function splitKeys(input: string, key: Key): [string, Key][] {
  // Escape sequences (arrows ...) are Ink's to parse; single keys need no splitting.
  if (input.length <= 1 || input.includes('\x1b') || !/[\x00-\x1f\x7f]/.test(input)) return [[input, key]];
  const base = { ...key, ctrl: false, return: false, tab: false, backspace: false };
  const keys: [string, Key][] = [];
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

/** Candidates in columns across the terminal, as shells list completions. */
function columns(items: readonly string[], width: number): string {
  const cell = Math.max(...items.map((i) => i.length)) + 2;
  const perRow = Math.max(1, Math.floor(width / cell));
  const rows: string[] = [];
  for (let i = 0; i < items.length; i += perRow) rows.push(items.slice(i, i + perRow).map((x) => x.padEnd(cell)).join('').trimEnd());
  return rows.join('\n');
}

export async function runConsole(options: ConsoleOptions): Promise<number> {
  const instance = render(<Console options={options} />, { exitOnCtrlC: false });
  await instance.waitUntilExit();
  return 0;
}
