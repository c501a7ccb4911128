// `log follow`: the lines added to a file from now on, as `tail -f` shows
// them, until the caller cancels (Ctrl-C). The file is polled by size, so a
// rotation (truncation) starts over from its new beginning.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

const POLL_MS = 200;
const MAX_CHUNK = 1024 * 1024;

export async function followFile(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let offset = fstatSync(fd).size;
    let partial = '';
    while (!signal.aborted) {
      const size = fstatSync(fd).size;
      if (size < offset) offset = 0; // truncated by rotation
      while (size > offset) {
        const buffer = Buffer.alloc(Math.min(size - offset, MAX_CHUNK));
        const read = readSync(fd, buffer, 0, buffer.length, offset);
        if (read === 0) break;
        offset += read;
        const lines = (partial + buffer.subarray(0, read).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
      });
    }
  } finally {
    closeSync(fd);
  }
}
