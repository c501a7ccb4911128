// The interactive console in a real pseudo-terminal: banner, prompt,
// Tab, ?, history, Ctrl-C, the pager and exit.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
  await node.platform(['system', 'setup', '--hostname', 'ink01', '--role', 'webproxy']);
});
afterAll(async () => {
  await node?.stop();
});

const UP = '\x1b[A';
const CTRL_C = '\x03';
const CTRL_A = '\x01';
const CTRL_R = '\x12';

describe('interactive console', () => {
  it('shows the banner, then a prompt, and runs what is typed', async () => {
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home]);
    try {
      const banner = await term.waitFor('host: ink01, role: webproxy');
      const prompt = await term.waitFor('platform@ink01:~$', { from: banner });
      expect(prompt).toBeGreaterThan(banner);

      // Tab completes a unique prefix to the whole word.
      term.write('sys');
      term.write('\t');
      await term.waitFor('platform@ink01:~$ system ', { from: prompt });

      // ? lists what may follow, with help, and keeps the line.
      let mark = term.screen().length;
      term.write('?');
      await term.waitFor(/info\s+Show the node's identity/, { from: mark });
      await term.waitFor(/maintenance-mode/, { from: mark });

      // Tab with several candidates lists them.
      mark = term.screen().length;
      term.write('m\t');
      await term.waitFor('system maintenance-mode ', { from: mark });
      term.write(CTRL_A);
      term.write('\x0b'); // Ctrl-K: kill the whole line from the start

      mark = term.screen().length;
      term.write('sys inf\r');
      await term.waitFor(/hostname: ink01[\s\S]*versions:/, { from: mark });

      // Errors are shown and the console goes on.
      mark = term.screen().length;
      term.write('sytem\r');
      await term.waitFor('did you mean "system"', { from: mark });

      // Up recalls the previous line.
      mark = term.screen().length;
      term.write(UP + UP);
      await term.waitFor('platform@ink01:~$ sys inf', { from: mark });

      // Ctrl-C cancels the line.
      mark = term.screen().length;
      term.write(CTRL_C);
      await term.waitFor('sys inf^C', { from: mark });

      // Ctrl-R searches the history.
      mark = term.screen().length;
      term.write(CTRL_R + 'inf');
      await term.waitFor("(reverse-i-search)'inf': sys inf", { from: mark });
      // Esc: back to the prompt. A key sent right after a lone Esc reads as
      // Meta+key (Esc is the Meta prefix), as in any terminal: wait for the
      // prompt first.
      mark = term.screen().length;
      term.write('\x1b');
      await term.waitFor('platform@ink01:~$', { from: mark });
      term.write(CTRL_A + '\x0b');

      // Disruptive commands ask first; no answer means no.
      mark = term.screen().length;
      term.write('system maintenance-mode start\r');
      await term.waitFor('Start maintenance mode on this node?', { from: mark });
      term.write('n\r');
      await term.waitFor('cancelled', { from: mark });

      term.write('exit\r');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
    // History is kept per user.
    const history = readFileSync(join(node.home, 'history', 'root'), 'utf8');
    expect(history).toContain('sys inf\nsytem\n');
  });

  it('leaves on Ctrl-D at an empty line and redraws after a resize', async () => {
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home]);
    try {
      const prompt = await term.waitFor('platform@ink01:~$');
      term.resize(60, 20);
      term.write('health\r');
      const health = await term.waitFor('HEALTH: NOT MONITORED', { from: prompt });
      await term.waitFor('platform@ink01:~$', { from: health });
      term.write('\x04');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
  });

  it('pages a long log: a screen at a time, / searches, q quits back to the prompt', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `console filler ${i}${i === 150 ? ' needle-alpha-150' : ''}${i === 180 ? ' needle-beta-180' : ''}`);
    appendFileSync(join(node.home, 'logs', 'platformd.log'), `${lines.join('\n')}\n`);
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home]);
    try {
      const prompt = await term.waitFor('platform@ink01:~$');
      term.write('log view platform/platformd.log\r');
      const paged = await term.waitFor(/platform\/platformd\.log {2}lines 1-\d+ of \d+/, { from: prompt });
      expect(term.screen()).not.toContain('needle-alpha-150'); // a screen, not the whole log
      term.write('/');
      await term.waitFor(/\n\/\s*$/, { from: paged });
      let mark = term.screen().length;
      term.write('needle-[a-z]+-1[0-9]0\r');
      await term.waitFor('needle-alpha-150', { from: mark });
      mark = term.screen().length;
      term.write('G');
      await term.waitFor('(END)', { from: mark });
      mark = term.screen().length;
      term.write('q');
      await term.waitFor('platform@ink01:~$', { from: mark });
      term.write('exit\r');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
  });

  it('says plainly when the daemon is down', async () => {
    const term = openTerminal(process.execPath, [PLATFORM, '--home', '/nonexistent/platform-home']);
    try {
      await term.waitFor('PLATFORMD NOT RUNNING');
      await term.waitFor(':~$');
      term.write('system info\r');
      await term.waitFor('platformd is not running');
      term.write('quit\r');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
  });
});
