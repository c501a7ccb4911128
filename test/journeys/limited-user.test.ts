// A limited user at the real console, in a pseudo-terminal: an operator
// granted `backup` and `system info` logs in (here: the console run as the
// Unix user nobody, whose token the daemon issued) and finds only what they
// may use in `help`, `?` and Tab. The administrator's commands of the backup
// group are nowhere, and typing one is refused; the audit log, read by the
// administrator afterwards, records the refusal under the operator's name.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync } from 'node:fs';
import { PLATFORM, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';

/** An account every Debian system has stands in for the operator, and its group for the console users' group. */
const OPERATOR = 'nobody';
const CONSOLE_GROUP = 'nogroup';
/** Ctrl-A, then Ctrl-K: the whole line killed, as in the console's own tests. */
const CLEAR_LINE = '\x01\x0b';

let node: RunningDaemon;
beforeAll(async () => {
  const home = tempHome('ps-limited-');
  chmodSync(home, 0o755); // the operator reaches run/platformd.sock, as a console user reaches /opt/platform's
  node = await startDaemon({ home, env: withoutCI({ PLATFORM_CONSOLE_GROUP: CONSOLE_GROUP }) });
  await node.platform(['system', 'setup', '--hostname', 'lim01', '--role', 'webproxy']);
  for (const words of [['user', 'add', OPERATOR], ['user', 'grant', OPERATOR, 'backup'], ['user', 'grant', OPERATOR, 'system', 'info']]) {
    const result = await node.platform(words);
    expect(result.status, result.stderr).toBe(0);
  }
});
afterAll(async () => {
  await node?.stop();
});

describe('an operator granted backup and system info', () => {
  it('sees only their commands in help, ? and Tab, and is refused the administrator\'s', async () => {
    const term = openTerminal(
      'setpriv',
      [`--reuid=${OPERATOR}`, `--regid=${CONSOLE_GROUP}`, '--clear-groups', '--', process.execPath, PLATFORM, '--home', node.home],
      withoutCI({ HOME: '/nonexistent', USER: OPERATOR }),
    );
    try {
      const prompt = await term.waitFor(`${OPERATOR}@lim01:~$`, { timeout: 30_000 });
      /** Types text and waits until the console has drawn it: a key sent with it in one chunk would be pasted text, not a key. */
      const typed = async (text: string, from: number) => {
        term.write(text);
        await term.waitFor(`${OPERATOR}@lim01:~$ ${text}`, { from });
      };
      /** Kills the line and waits for the empty prompt, so the next line is drawn anew. */
      const clearLine = async () => {
        const from = term.screen().length;
        term.write(CLEAR_LINE);
        await term.waitFor(new RegExp(`${OPERATOR}@lim01:~\\$\\s*$`), { from });
      };

      // help: the groups they may use, and nothing else.
      term.write('help\r');
      const help = await term.waitFor('backup - manage backups', { from: prompt });
      await term.waitFor(`${OPERATOR}@lim01:~$`, { from: help });
      const menu = term.screen().slice(help - 200);
      expect(menu).toContain('system - system administration');
      expect(menu).not.toMatch(/user - manage users|keys - ssh|firewall - |cluster - /);

      // ?: the backup commands they may run, each with its help; not restore, key, add or del.
      let mark = term.screen().length;
      await typed('backup ', mark);
      term.write('?');
      await term.waitFor(/verify\s+Check a backup/, { from: mark });
      const offered = term.screen().slice(mark);
      expect(offered).toMatch(/create\s+Back up the node/);
      expect(offered).not.toMatch(/restore\s+Restore|key\s|add\s+Add a backup location|del\s+Delete a backup location/);
      await clearLine();

      // Tab: "backup " offers clean, create, list, verify only.
      mark = term.screen().length;
      await typed('backup ', mark);
      term.write('\t');
      await term.waitFor(/clean\s+create\s+list\s+verify/, { from: mark });
      expect(term.screen().slice(mark)).not.toMatch(/restore|\bkey\b/);
      await clearLine();

      // Tab on the first letters of an administrator's command completes nothing to it.
      mark = term.screen().length;
      await typed('backup res', mark);
      term.write('\t');
      await new Promise((r) => setTimeout(r, 500));
      expect(term.screen().slice(mark)).not.toContain('restore');
      await clearLine();

      // Typed whole, it is refused.
      mark = term.screen().length;
      term.write('backup restore offsite\r');
      await term.waitFor('you have no right to run "backup restore": only an administrator may run it', { from: mark });
      mark = term.screen().length;
      term.write('user list\r');
      await term.waitFor('you have no right to run "user list"', { from: mark });

      // What they may run, runs.
      mark = term.screen().length;
      term.write('sys inf\r');
      await term.waitFor('hostname: lim01', { from: mark });
    } finally {
      term.kill();
    }

    // Checked from outside the console: the administrator's audit log holds the refusals under the operator's name.
    const audit = JSON.parse((await node.platform(['--json', 'log', 'audit', '--limit', '50'])).stdout) as { user: string; words: string; outcome: string }[];
    expect(audit).toContainEqual(expect.objectContaining({ user: OPERATOR, words: 'backup restore offsite', outcome: 'refused' }));
    expect(audit).toContainEqual(expect.objectContaining({ user: OPERATOR, words: 'user list', outcome: 'refused' }));
    expect(audit).toContainEqual(expect.objectContaining({ user: OPERATOR, words: 'system info', outcome: 'ok' }));
  }, 90_000);
});
