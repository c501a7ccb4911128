// The interactive console (Ink): the reducer (state.ts) holds the keys and
// modes, the effect runner (effects.ts) talks to platformd and the history
// file, and the components draw the state. Finished commands and their output
// go to <Static> history and scroll away; the live line stays below.

import { useEffect, useReducer, useRef } from 'react';
import { Box, Static, render, useApp, useInput, useWindowSize } from 'ink';
import { effectRunner, type ConsoleOptions, type Dispatch } from './effects.js';
import { EntryView } from './entries.js';
import { splitKeys } from './keys.js';
import { LiveLine } from './live.js';
import type { Screen } from './paging.js';
import { initialState, reduce, type ConsoleState, type Effect } from './state.js';

export type { ConsoleOptions } from './effects.js';

function Console({ options, clearScreen }: { options: ConsoleOptions; clearScreen(): void }) {
  const app = useApp();
  const { columns, rows } = useWindowSize();
  const screen = { columns: columns || 100, rows: rows || 30 };
  const [state, dispatch] = useConsole(options, screen, { exit: () => app.exit(), clearScreen });
  useEffect(() => dispatch({ kind: 'resize', screen }), [screen.columns, screen.rows]);
  useEffect(() => void options.ready.then(({ redact, history }) => dispatch({ kind: 'redactor-ready', redact, history })), []);
  // Keys arriving in one chunk (typed ahead, pasted, scripted) are fed one by one.
  useInput((input, key) => {
    for (const [one, flags] of splitKeys(input, key)) dispatch({ kind: 'key', input: one, key: flags });
  });
  return (
    <Box flexDirection="column">
      <Static items={state.entries}>{(entry) => <EntryView key={entry.id} entry={entry} width={screen.columns} />}</Static>
      <LiveLine state={state} />
    </Box>
  );
}

/**
 * The reducer and its effects. The state lives in a ref, not in React's
 * state, so that each key of a chunk sees the state the previous key left;
 * each event then asks React to redraw.
 */
function useConsole(options: ConsoleOptions, screen: Screen, terminal: Parameters<typeof effectRunner>[2]): [ConsoleState, Dispatch] {
  const live = useRef<ConsoleState>(undefined);
  live.current ??= initialState(promptOf(options), [], screen, null);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const run = useRef<(effect: Effect) => void>(undefined);
  const dispatch = useRef<Dispatch>((event) => {
    const { state, effects } = reduce(live.current!, event);
    live.current = state;
    redraw();
    for (const effect of effects) run.current!(effect);
  }).current;
  run.current ??= effectRunner(options, dispatch, terminal);
  return [live.current, dispatch];
}

function promptOf(options: ConsoleOptions): string {
  return `${options.caller.user === 'root' ? 'platform' : options.caller.user}@${options.hostname}:~$ `;
}

/** Home, erase the screen and the terminal's scroll-back (ESC [3J); Ink draws the live line again on the next render. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J\x1b[3J';

export async function runConsole(options: ConsoleOptions): Promise<number> {
  const clearScreen = () => {
    instance.clear();
    process.stdout.write(CLEAR_SCREEN);
  };
  const instance = render(<Console options={options} clearScreen={clearScreen} />, { exitOnCtrlC: false });
  await instance.waitUntilExit();
  return 0;
}
