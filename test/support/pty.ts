// Drives a program in a real pseudo-terminal (node-pty) and waits for what
// it draws. Escape codes are stripped before matching.

import pty from 'node-pty';
import { withoutCI } from './daemon.js';

export interface Terminal {
  write(data: string): void;
  /** Everything drawn so far, without escape codes. */
  screen(): string;
  /** Everything the program wrote, escape codes included. */
  raw(): string;
  /** Resolves when `pattern` appears in what was drawn after `from` (default: start). */
  waitFor(pattern: RegExp | string, options?: { from?: number; timeout?: number }): Promise<number>;
  resize(columns: number, rows: number): void;
  exited: Promise<number>;
  kill(): void;
}

const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>()][0-9A-Za-z]?/g;

export function openTerminal(file: string, args: string[], env: NodeJS.ProcessEnv = withoutCI()): Terminal {
  const term = pty.spawn(file, args, { name: 'xterm-256color', cols: 100, rows: 30, env: env as Record<string, string> });
  let raw = '';
  const listeners = new Set<() => void>();
  term.onData((d) => {
    raw += d;
    for (const l of listeners) l();
  });
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  const screen = () => raw.replace(ANSI, '');
  return {
    write: (data) => term.write(data),
    screen,
    raw: () => raw,
    resize: (c, r) => term.resize(c, r),
    exited,
    kill: () => term.kill(),
    waitFor(pattern, { from = 0, timeout = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const text = screen().slice(from);
          const index = typeof pattern === 'string' ? text.indexOf(pattern) : text.search(pattern);
          if (index >= 0) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(from + index);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; screen:\n${screen().slice(-1500)}`));
        }, timeout);
        listeners.add(check);
        check();
      });
    },
  };
}
