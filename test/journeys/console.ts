// The real console in a pseudo-terminal, as an administrator meets it: the
// banner, then a prompt; a line typed and its answer read off the screen.
// Shared by the journeys of this folder.

import { PLATFORM, withoutCI } from '../support/daemon.js';
import { openTerminal, type Terminal } from '../support/pty.js';

export interface ConsoleSession {
  terminal: Terminal;
  /** The banner as drawn at login, up to the first prompt. */
  banner: string;
  /** Types `line`, waits for `answer` (and for the next prompt unless a question is expected), returns what was drawn meanwhile. */
  type(line: string, answer: RegExp | string, options?: { timeout?: number; question?: boolean }): Promise<string>;
  /** Leaves with `exit`. */
  close(): Promise<void>;
}

export async function openConsole(home: string, hostname: string, options: { netns?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ConsoleSession> {
  const [file, args] = options.netns ? ['ip', ['netns', 'exec', options.netns, process.execPath, PLATFORM, '--home', home]] : [process.execPath, [PLATFORM, '--home', home]];
  const terminal = openTerminal(file as string, args as string[], options.env ?? withoutCI());
  terminal.resize(200, 50);
  const prompt = `platform@${hostname}:~$`;
  const promptAt = await terminal.waitFor(prompt, { timeout: 30_000 });
  const banner = terminal.screen().slice(0, promptAt).replace(/\r/g, '');
  return {
    terminal,
    banner,
    async type(line, answer, { timeout = 30_000, question = false } = {}) {
      const mark = terminal.screen().length;
      terminal.write(`${line}\r`);
      const at = await terminal.waitFor(answer, { from: mark, timeout });
      if (!question) await terminal.waitFor(prompt, { from: at, timeout });
      return terminal.screen().slice(mark).replace(/\r/g, '');
    },
    async close() {
      terminal.write('exit\r');
      const timer = setTimeout(() => terminal.kill(), 10_000);
      await terminal.exited;
      clearTimeout(timer);
    },
  };
}

