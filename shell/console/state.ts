// The console as a reducer: every key press and every answer from the daemon
// is an event; `reduce` maps the state and the event to the next state and
// the effects to carry out (ask the daemon, write the history, leave). It
// never does I/O itself, so each mode and key can be tested as plain data;
// shell/console/effects.ts carries the effects out and feeds back events.
//
// Modes: `edit` (the prompt and its line: editing, Tab, ?, Up/Down),
// `search` (Ctrl-R through the history), `running` (a command in flight, its
// progress; Ctrl-C cancels), `question` (the running command asks: yes/no,
// a line, or a secret) and `page` (a long text a screen at a time, paging.ts).
//
// A line is echoed, kept in the history and recalled with its secrets hidden
// (history.ts); the answers to secret questions are never echoed or kept, and
// one typed again at the prompt (the person thought the question was still
// open) is neither run nor kept.

import { splitWords } from '../../commands/tree.js';
import { redactSecrets } from '../../net/uri.js';
import type { Block } from '../../core/reply.js';
import {
  addToHistory,
  applyCompletion,
  commonPrefix,
  edit,
  emptyLine,
  nextInHistory,
  previousInHistory,
  searchHistory,
  startHistory,
  type HistoryState,
  type LineState,
} from './editor.js';
import type { Redactor } from './history.js';
import { editKeyOf, type KeyPress } from './keys.js';
import { openPager, pagerKey, resizePager, visibleRows, type Pager, type Screen } from './paging.js';

export interface HelpEntry {
  word: string;
  summary: string;
}

/** What scrolls away above the live line, oldest first. */
export type EntryData =
  /** The prompt and the line as typed. */
  | { kind: 'echo'; text: string }
  /** A command's reply. */
  | { kind: 'blocks'; blocks: Block[] }
  | { kind: 'error'; text: string }
  /** A command's progress. */
  | { kind: 'info'; text: string }
  /** Tab with several candidates. */
  | { kind: 'candidates'; items: string[] }
  /** `?`: what may follow, with help. */
  | { kind: 'help'; entries: HelpEntry[] };
export type Entry = EntryData & { id: number };

export interface Question {
  text: string;
  yesNo: boolean;
  secret: boolean;
}

export type Mode =
  | { kind: 'edit' }
  | { kind: 'search'; query: string; match?: { line: string; index: number } }
  | { kind: 'running'; progress: string }
  /** `progress` is the running command's, shown again once answered. */
  | { kind: 'question'; question: Question; progress: string }
  /** A reply's long text, and any more after it. */
  | { kind: 'page'; pager: Pager; queue: Pager[] };

export interface ConsoleState {
  prompt: string;
  mode: Mode;
  /** The command line at the prompt. */
  line: LineState;
  /** The answer being typed to a question. */
  answer: LineState;
  history: HistoryState;
  entries: Entry[];
  nextId: number;
  /** The terminal's size, for the pager. */
  screen: Screen;
  /** How a typed line is echoed and kept: its secrets hidden; null while the command tree that knows them loads (after the first prompt). */
  redact: Redactor | null;
  /** A line entered before the command tree was there: run once it is. */
  pendingLine?: string;
  /** The answers to secret questions since the last line was entered (in memory only, to refuse one typed at the prompt). */
  secretAnswers: string[];
}

/** How a command ended, as the effects runner saw it. */
export type Outcome =
  | { kind: 'result'; blocks: Block[] }
  | { kind: 'error'; message: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'cancelled' };

export type ConsoleEvent =
  | { kind: 'key'; input: string; key: KeyPress }
  | { kind: 'resize'; screen: Screen }
  | { kind: 'run-progress'; text: string }
  | { kind: 'run-asks'; question: Question; initial: string }
  | { kind: 'run-ended'; outcome: Outcome }
  /** Tab's answer for the line up to the cursor as it was (`before`). */
  | { kind: 'completed'; before: string; partial: string; candidates: string[] }
  | { kind: 'help-listed'; entries: HelpEntry[] }
  /** A Tab or `?` look-up failed. */
  | { kind: 'lookup-failed'; message: string }
  /** The command tree loaded: how lines are kept, and the history file's lines (already redacted). */
  | { kind: 'redactor-ready'; redact: Redactor; history: readonly string[] };

export type Effect =
  | { kind: 'run'; words: string[] }
  | { kind: 'cancel' }
  | { kind: 'answer'; value: string | boolean }
  /** Candidates for the word before the cursor; `before` is the line up to it. */
  | { kind: 'complete'; before: string }
  | { kind: 'help'; before: string }
  /** Append a line (its secrets hidden) to the history file. */
  | { kind: 'remember'; line: string }
  /** Ctrl-L or `clear`: an empty screen, the scroll-back erased too (it may show what was typed). */
  | { kind: 'clear-screen' }
  | { kind: 'exit' };

export interface Step {
  state: ConsoleState;
  effects: Effect[];
}

/** Before the command tree is known: hide what looks like a password anywhere in the line. */
const hideLooksSecret: Redactor = (line) => redactSecrets(line);

export function initialState(prompt: string, history: readonly string[], screen: Screen = { columns: 100, rows: 30 }, redact: Redactor | null = hideLooksSecret): ConsoleState {
  return { prompt, mode: { kind: 'edit' }, line: emptyLine, answer: emptyLine, history: startHistory(history), entries: [], nextId: 0, screen, redact, secretAnswers: [] };
}

export function reduce(state: ConsoleState, event: ConsoleEvent): Step {
  switch (event.kind) {
    case 'key':
      return onKey(state, event.input, event.key);
    case 'resize': {
      const { screen } = event;
      const { mode } = state;
      const reflowed: Mode = mode.kind === 'page' ? { kind: 'page', pager: resizePager(mode.pager, screen), queue: mode.queue.map((p) => resizePager(p, screen)) } : mode;
      return step({ ...state, screen, mode: reflowed });
    }
    case 'run-progress': {
      const mode = state.mode.kind === 'running' || state.mode.kind === 'question' ? { ...state.mode, progress: event.text } : state.mode;
      return step(push({ ...state, mode }, { kind: 'info', text: event.text }));
    }
    case 'run-asks': {
      const progress = state.mode.kind === 'running' ? state.mode.progress : '';
      const answer = { text: event.initial, cursor: event.initial.length };
      return step({ ...state, answer, mode: { kind: 'question', question: event.question, progress } });
    }
    case 'run-ended':
      if (event.outcome.kind === 'result') return step(showReply({ ...state, mode: { kind: 'edit' } }, event.outcome.blocks));
      return step(push({ ...state, mode: { kind: 'edit' } }, outcomeEntry(event.outcome)));
    case 'completed':
      return step(completed(state, event.before, event.partial, event.candidates));
    case 'help-listed':
      return step(push(state, { kind: 'help', entries: event.entries }));
    case 'lookup-failed':
      return step(push(state, { kind: 'error', text: event.message }));
    case 'redactor-ready': {
      const ready = { ...state, redact: event.redact, history: startHistory(event.history), pendingLine: undefined };
      return state.pendingLine === undefined ? step(ready) : submit({ ...ready, mode: { kind: 'edit' } }, state.pendingLine);
    }
  }
}

/** A line as echoed: its secrets hidden (before the tree is there, what looks like a password). */
const echoOf = (state: ConsoleState, text: string) => (state.redact ?? hideLooksSecret)(text);

/** A reply's blocks go to the scroll-back, but a long text that does not fit on the screen goes to the pager (after the rest, as one-shot commands do). */
function showReply(state: ConsoleState, blocks: Block[]): ConsoleState {
  const shown: Block[] = [];
  const pagers: Pager[] = [];
  for (const block of blocks) {
    const pager = block.kind === 'page' ? openPager(block.title, block.text, state.screen) : undefined;
    if (pager) pagers.push(pager);
    else shown.push(block);
  }
  const next = shown.length > 0 || pagers.length === 0 ? push(state, { kind: 'blocks', blocks: shown }) : state;
  const [pager, ...queue] = pagers;
  return pager ? { ...next, mode: { kind: 'page', pager, queue } } : next;
}

function outcomeEntry(outcome: Exclude<Outcome, { kind: 'result' }>): EntryData {
  switch (outcome.kind) {
    case 'error':
      return { kind: 'error', text: outcome.message };
    case 'unreachable':
      return { kind: 'error', text: `${outcome.message}\n(only exit, quit, clear and history work until it is back)` };
    case 'cancelled':
      return { kind: 'error', text: '^C cancelled' };
  }
}

// ---------------------------------------------------------------------------
// Keys, mode by mode.

const isCtrl = (input: string, key: KeyPress, letter: string) => key.ctrl === true && input === letter;

function onKey(state: ConsoleState, input: string, key: KeyPress): Step {
  switch (state.mode.kind) {
    case 'running':
      // Ctrl-C asks the daemon to stop the command. Other keys are dropped: typed ahead, they could answer
      // a question the command has yet to ask, or run as a command once it ends.
      return isCtrl(input, key, 'c') ? step(state, { kind: 'cancel' }) : step(state);
    case 'question':
      return onQuestionKey(state, state.mode, input, key);
    case 'search':
      return onSearchKey(state, state.mode, input, key);
    case 'page':
      return step(onPageKey(state, state.mode, input, key));
    case 'edit':
      return onEditKey(state, input, key);
  }
}

function onEditKey(state: ConsoleState, input: string, key: KeyPress): Step {
  const { line, prompt } = state;
  if (isCtrl(input, key, 'c')) return step(push({ ...state, line: emptyLine }, { kind: 'echo', text: `${prompt}${echoOf(state, line.text)}^C` }));
  if (isCtrl(input, key, 'd')) {
    if (line.text === '') return step(state, { kind: 'exit' });
    return step({ ...state, line: edit(line, { kind: 'delete' }) });
  }
  if (isCtrl(input, key, 'r')) return step({ ...state, mode: { kind: 'search', query: '' } });
  if (isCtrl(input, key, 'l')) return step(state, { kind: 'clear-screen' });
  if (key.return) return submit({ ...state, line: emptyLine }, line.text);
  if (key.tab) return step(state, { kind: 'complete', before: line.text.slice(0, line.cursor) });
  if (input === '?' && !key.ctrl && !key.meta) {
    return step(push(state, { kind: 'echo', text: `${prompt}${echoOf(state, line.text)}?` }), { kind: 'help', before: line.text.slice(0, line.cursor) });
  }
  if (key.upArrow || key.downArrow) {
    const moved = key.upArrow ? previousInHistory(state.history, line.text) : nextInHistory(state.history);
    return step(moved ? { ...state, history: moved.history, line: { text: moved.line, cursor: moved.line.length } } : state);
  }
  const editKey = editKeyOf(input, key);
  return step(editKey ? { ...state, line: edit(line, editKey) } : state);
}

function onSearchKey(state: ConsoleState, mode: Extract<Mode, { kind: 'search' }>, input: string, key: KeyPress): Step {
  const found = mode.match?.line ?? state.line.text;
  if (isCtrl(input, key, 'c') || key.escape) return step({ ...state, mode: { kind: 'edit' } });
  if (key.return) return submit({ ...state, mode: { kind: 'edit' }, line: emptyLine }, found);
  if (isCtrl(input, key, 'r')) {
    // Ctrl-R again: the next older match, or stay on this one.
    return step({ ...state, mode: { ...mode, match: searchHistory(state.history, mode.query, mode.match?.index) ?? mode.match } });
  }
  if (key.backspace || key.delete) return step(searching(state, mode.query.slice(0, -1)));
  // A movement or another Ctrl key takes the match onto the line to edit.
  if (key.leftArrow || key.rightArrow || key.upArrow || key.downArrow || key.home || key.end || key.ctrl) {
    return step({ ...state, mode: { kind: 'edit' }, line: { text: found, cursor: found.length } });
  }
  return step(input ? searching(state, mode.query + input) : state);
}

function searching(state: ConsoleState, query: string): ConsoleState {
  return { ...state, mode: { kind: 'search', query, match: searchHistory(state.history, query) } };
}

function onQuestionKey(state: ConsoleState, mode: Extract<Mode, { kind: 'question' }>, input: string, key: KeyPress): Step {
  const { question, progress } = mode;
  const back: Mode = { kind: 'running', progress };
  // Ctrl-C answers no (or nothing): the command decides what that means.
  if (isCtrl(input, key, 'c')) return step({ ...state, mode: back }, { kind: 'answer', value: question.yesNo ? false : '' });
  if (key.return) {
    const text = state.answer.text;
    const echo = `${question.text}${question.yesNo ? ' [y/N]' : ''}: ${question.secret ? '' : text}`;
    const value = question.yesNo ? /^y(es)?$/i.test(text.trim()) : text;
    const secretAnswers = question.secret && text.trim() ? [...state.secretAnswers, text.trim()] : state.secretAnswers;
    return step(push({ ...state, mode: back, answer: emptyLine, secretAnswers }, { kind: 'echo', text: echo }), { kind: 'answer', value });
  }
  const editKey = editKeyOf(input, key);
  return step(editKey ? { ...state, answer: edit(state.answer, editKey) } : state);
}

/** The pager's keys; on quit the last screen stays in the scroll-back (as with `less -X`) and the next text, if any, is paged. */
function onPageKey(state: ConsoleState, mode: Extract<Mode, { kind: 'page' }>, input: string, key: KeyPress): ConsoleState {
  const pager = pagerKey(mode.pager, input, key);
  if (pager !== 'quit') return { ...state, mode: { ...mode, pager } };
  const lastScreen = visibleRows(mode.pager).map((row) => row.text).join('\n');
  const left = push(state, { kind: 'blocks', blocks: [{ kind: 'text', text: lastScreen }] });
  const [next, ...queue] = mode.queue;
  return { ...left, mode: next ? { kind: 'page', pager: next, queue } : { kind: 'edit' } };
}

/** Lines the console answers itself, without platformd. */
const LOCAL_LINES = new Set(['exit', 'quit', 'clear']);

/** Enter: echo the line and remember it, secrets hidden, and run it (or leave, or clear the screen). */
function submit(state: ConsoleState, text: string): Step {
  const trimmed = text.trim();
  const { secretAnswers } = state;
  state = { ...state, secretAnswers: [] };
  if (secretAnswers.includes(trimmed)) {
    // The answer to a secret question, typed again at the prompt: it runs nowhere and is kept nowhere.
    const echoed = push(state, { kind: 'echo', text: `${state.prompt}***` });
    return step(push(echoed, { kind: 'error', text: 'not run: that is the answer you gave to a secret question of the last command (it is not kept); run the command again' }));
  }
  // Entered in the instant before the command tree loaded: it runs (and is echoed and kept) once the tree is there.
  if (state.redact === null && trimmed && !LOCAL_LINES.has(trimmed)) return step({ ...state, pendingLine: text, mode: { kind: 'running', progress: 'starting' } });
  const kept = trimmed && echoOf(state, trimmed);
  const echoed = push(state, { kind: 'echo', text: state.prompt + (kept === trimmed ? text : kept) });
  if (!trimmed) return step(echoed);
  const remembered = { ...echoed, history: addToHistory(echoed.history, kept) };
  const remember: Effect = { kind: 'remember', line: kept };
  if (trimmed === 'exit' || trimmed === 'quit') return step(remembered, remember, { kind: 'exit' });
  if (trimmed === 'clear') return step(remembered, remember, { kind: 'clear-screen' });
  let words: string[];
  try {
    words = splitWords(trimmed);
  } catch (error) {
    return step(push(remembered, { kind: 'error', text: (error as Error).message }), remember);
  }
  return step({ ...remembered, mode: { kind: 'running', progress: '' } }, remember, { kind: 'run', words });
}

/** Tab's answer: a unique candidate completes the word, a longer shared prefix extends it, else they are listed. */
function completed(state: ConsoleState, before: string, partial: string, candidates: string[]): ConsoleState {
  // Keys typed while the daemon answered may have changed the line: then the answer is stale.
  const stale = state.mode.kind !== 'edit' || state.line.text.slice(0, state.line.cursor) !== before;
  if (stale || candidates.length === 0) return state;
  if (candidates.length === 1) return { ...state, line: applyCompletion(state.line, partial, candidates[0]!, true) };
  const shared = commonPrefix(candidates);
  if (shared.length > partial.length) return { ...state, line: applyCompletion(state.line, partial, shared, false) };
  return push(state, { kind: 'echo', text: state.prompt + echoOf(state, state.line.text) }, { kind: 'candidates', items: candidates });
}

// ---------------------------------------------------------------------------

function step(state: ConsoleState, ...effects: Effect[]): Step {
  return { state, effects };
}

function push(state: ConsoleState, ...added: EntryData[]): ConsoleState {
  const entries = added.map((entry, i) => ({ ...entry, id: state.nextId + i }));
  return { ...state, entries: [...state.entries, ...entries], nextId: state.nextId + added.length };
}
