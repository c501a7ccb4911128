// Mistakes a person can make at the console get a clear message and exit 2,
// never a stack trace or a message about something else.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
});
afterAll(async () => {
  await node.stop();
});

const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

describe('bad input at the console', () => {
  it('an unclosed quote in `platform -c` (as sshd runs it) is a clear error, exit 2', async () => {
    const result = await node.platform(['-c', 'web "x']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('platform: unclosed " quote\n');
    noStack(result.stderr);
  });

  it('an unclosed quote in SSH_ORIGINAL_COMMAND too', async () => {
    const result = await node.platform([], { env: { ...process.env, CI: '', SSH_ORIGINAL_COMMAND: "web cert 'details" } });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unclosed ' quote");
    noStack(result.stderr);
  });

  it('a span reaching before 1970 is bad input, not "Invalid time value"', async () => {
    const result = await node.platform(['log', 'audit', '--since', '999999999999999d']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('"999999999999999d" reaches back before 1970');
    expect(result.stderr).not.toContain('Invalid time value');
  });

  it('a weight or server with a stray character is refused, and nothing is stored', async () => {
    for (const args of [
      ['h:443', '3x'],
      ['h:443x', '3'],
      ['h:443', '3 '],
      ['h:443', ' 3'],
      ['h:443\n', '3'],
      ['h:443', '3\n'],
      ['h:443', '٣'],
      ['h:0443', '3'],
      ['h-:443', '3'],
      ['-h:443', '3'],
      ['h..x:443', '3'],
      ['h_x:443', '3'],
      ['[::1:443', '3'],
      ['[fe80::zz]:443', '3'],
      ['h:443', '03'],
      ['h:443', '+3'],
    ]) {
      const result = await node.platform(['web', 'weight', 'add', ...args]);
      expect(result.status, `${JSON.stringify(args)}: ${result.stdout}${result.stderr}`).toBe(2);
    }
    const list = await node.platform(['--json', 'web', 'weight', 'list']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });
});
