// Carries out what the reducer (state.ts) asks for: requests to platformd,
// the answers to a running command's questions, the history file, leaving.
// What comes back is fed to the reducer as events.

import type { CallerClaim } from '../../core/protocol.js';
import { DaemonUnreachable, request } from '../client.js';
import { appendHistory, type Redactor } from './history.js';
import type { ConsoleEvent, Effect, Outcome, Question } from './state.js';

export interface ConsoleOptions {
  socket: string;
  caller: CallerClaim;
  hostname: string;
  daemonUp: boolean;
  historyFile: string;
  historyDir: string;
  /** Once the command tree has loaded (after the first prompt): how a line is kept, and the history's lines, secrets hidden. */
  ready: Promise<{ redact: Redactor; history: string[] }>;
  /** Why platformd does not answer, when it does not (the node may be starting). */
  unreachable?: (message: string) => string;
}

export type Dispatch = (event: ConsoleEvent) => void;

/** A function that carries out one effect; it keeps the running command's cancel switch and pending question. */
export function effectRunner(options: ConsoleOptions, dispatch: Dispatch, terminal: { exit(): void; clearScreen(): void }): (effect: Effect) => void {
  const { socket, caller } = options;
  let abort: AbortController | undefined;
  let answer: ((value: string | boolean) => void) | undefined;

  const ask = (question: Question, initial: string) =>
    new Promise<string | boolean>((resolve) => {
      answer = resolve;
      dispatch({ kind: 'run-asks', question, initial });
    });

  const run = async (words: string[]) => {
    const controller = new AbortController();
    abort = controller;
    let outcome: Outcome;
    try {
      const response = await request(
        socket,
        { op: 'run', words, caller },
        {
          progress: (text) => dispatch({ kind: 'run-progress', text }),
          confirm: async (text) => (await ask({ text, yesNo: true, secret: false }, '')) === true,
          ask: async (text, initial, secret) => String(await ask({ text, yesNo: false, secret }, initial ?? '')),
        },
        controller.signal,
      );
      if (response.type === 'result') outcome = { kind: 'result', blocks: response.blocks };
      else if (response.type === 'error') outcome = { kind: 'error', message: response.message };
      else outcome = { kind: 'error', message: 'unexpected answer from platformd' };
    } catch (error) {
      if (error instanceof DaemonUnreachable) outcome = { kind: 'unreachable', message: options.unreachable?.(error.message) ?? error.message };
      else outcome = controller.signal.aborted ? { kind: 'cancelled' } : { kind: 'error', message: (error as Error).message };
    }
    abort = undefined;
    answer = undefined;
    dispatch({ kind: 'run-ended', outcome });
  };

  const complete = async (before: string) => {
    try {
      const response = await request(socket, { op: 'complete', line: before, caller });
      if (response.type === 'completion') dispatch({ kind: 'completed', before, partial: response.partial, candidates: response.candidates });
    } catch (error) {
      dispatch({ kind: 'lookup-failed', message: (error as Error).message });
    }
  };

  const help = async (before: string) => {
    try {
      const response = await request(socket, { op: 'help-at', line: before, caller });
      if (response.type === 'help-at') dispatch({ kind: 'help-listed', entries: response.entries });
      else if (response.type === 'error') dispatch({ kind: 'lookup-failed', message: response.message });
    } catch (error) {
      dispatch({ kind: 'lookup-failed', message: (error as Error).message });
    }
  };

  return (effect) => {
    switch (effect.kind) {
      case 'run':
        return void run(effect.words);
      case 'cancel':
        return abort?.abort();
      case 'answer': {
        const resolve = answer;
        answer = undefined;
        return resolve?.(effect.value);
      }
      case 'complete':
        return void complete(effect.before);
      case 'help':
        return void help(effect.before);
      case 'remember':
        return appendHistory(options.historyDir, options.historyFile, effect.line);
      case 'clear-screen':
        return terminal.clearScreen();
      case 'exit':
        return terminal.exit();
    }
  };
}
