// Long texts (a log) on a terminal: Debian's `less`, which scrolls, searches
// with `/` (regular expressions), repeats with n/N and quits with q. It runs
// with LESSSECURE, so its shell escapes, editor and file commands are off: a
// person reading a log gets no shell.

import { spawn } from 'node:child_process';

export function page(text: string): Promise<void> {
  return new Promise((resolve) => {
    const less = spawn('less', ['-R', '-X', '-F', '--quit-on-intr'], {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: { ...process.env, LESSSECURE: '1', LESSHISTFILE: '-', LESS: '', LESSOPEN: '', LESSCLOSE: '' },
    });
    less.on('error', () => {
      // No pager on this machine: the text as is.
      process.stdout.write(`${text}\n`);
      resolve();
    });
    less.stdin!.on('error', () => undefined); // quit before reading it all
    less.stdin!.end(`${text}\n`);
    less.on('exit', () => resolve());
  });
}
