// Journey: an administrator types secrets into the real console (a
// pseudo-terminal, a real platformd): a backup key, URIs with passwords,
// an SNMP community, a password typed into the wrong place. None of them
// may be found afterwards in the history file, the audit log (as shown and
// as stored), platformd's log, or on the screen once Up and Ctrl-R have
// recalled the lines.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { openTerminal, type Terminal } from '../support/pty.js';

const UP = '\x1b[A';
const CTRL_R = '\x12';
const ESC = '\x1b';
const CTRL_A_K = '\x01\x0b';
const PROMPT = 'platform@journey01:~$';

const BACKUP_KEY = `psbk1-${Buffer.alloc(32, 0x5a).toString('base64url')}`;
const FTP_PASSWORD = 'Ftp-S3cret-9c1';
const SFTP_PASSWORD = 'Sftp-S3cret-77b';
const COMMUNITY = 'C0mmunity-Secret-4e';
const TYPO_PASSWORD = 'Typo-S3cret-2d0';
const SECRETS = [BACKUP_KEY, FTP_PASSWORD, SFTP_PASSWORD, COMMUNITY, TYPO_PASSWORD];

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
  await node.platform(['system', 'setup', '--hostname', 'journey01', '--role', 'webproxy']);
});
afterAll(async () => {
  await node?.stop();
});

/** Types a line at the prompt, waits for its answer and the next prompt; returns where the answer began. */
async function enter(term: Terminal, line: string, answer: RegExp | string): Promise<number> {
  const mark = term.screen().length;
  term.write(`${line}\r`);
  const at = await term.waitFor(answer, { from: mark, timeout: 30_000 });
  await term.waitFor(PROMPT, { from: at });
  return at;
}

describe('journey: secrets typed in the console stay secret', () => {
  it('keeps them out of the history, the audit log, platformd.log and the screen after Up', async () => {
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home]);
    try {
      await term.waitFor(PROMPT);

      // A backup key kept offline, given on the command line; the node's own key is replaced.
      let mark = term.screen().length;
      term.write(`backup key import ${BACKUP_KEY}\r`);
      const asked = await term.waitFor(/replace it\?|imported/, { from: mark, timeout: 30_000 });
      if (term.screen().slice(asked).startsWith('replace it?')) term.write('y\r');
      await term.waitFor('imported', { from: mark, timeout: 30_000 });
      await term.waitFor(PROMPT, { from: mark + 1 });

      // URIs with passwords: one taken apart by diag, a backup location, a notification target.
      await enter(term, `diag uri ftp://ops:${FTP_PASSWORD}@127.0.0.1:1/drop`, 'uri: ftp://ops:***@127.0.0.1:1/drop');
      await enter(term, `backup add offsite sftp://dan:${SFTP_PASSWORD}@127.0.0.1/backups`, 'offsite: sftp://dan:***@127.0.0.1/backups');
      await enter(term, `notify add error snmp://${COMMUNITY}@127.0.0.1:1162`, 'error: snmp://***@127.0.0.1:1162');
      // A line that does not parse still holds a password.
      await enter(term, `diag urx ftp://ops:${TYPO_PASSWORD}@127.0.0.1/x`, 'unknown command "diag urx"');

      // What the screen shows from here on: Up through every line, and a search.
      mark = term.screen().length;
      term.write(UP);
      await term.waitFor(`${PROMPT} diag urx ftp://ops:***@127.0.0.1/x`, { from: mark });
      term.write(UP);
      await term.waitFor(`${PROMPT} notify add error snmp://***@127.0.0.1:1162`, { from: mark });
      term.write(UP);
      await term.waitFor(`${PROMPT} backup add offsite sftp://dan:***@127.0.0.1/backups`, { from: mark });
      term.write(UP);
      await term.waitFor(`${PROMPT} diag uri ftp://ops:***@127.0.0.1:1/drop`, { from: mark });
      term.write(UP);
      await term.waitFor(`${PROMPT} backup key import ***`, { from: mark });
      term.write(CTRL_A_K + CTRL_R + 'ftp');
      await term.waitFor("(reverse-i-search)'ftp': diag urx ftp://ops:***@127.0.0.1/x", { from: mark });
      // Esc leaves the search; the next key waits for the prompt (a key right after a lone Esc reads as Meta+key).
      const searched = term.screen().length;
      term.write(ESC);
      await term.waitFor(PROMPT, { from: searched });
      const recalled = term.screen().slice(mark);
      for (const secret of SECRETS) expect(recalled).not.toContain(secret);

      // The lines echoed into the scroll-back after Enter are the redacted ones too.
      expect(term.screen()).toContain(`${PROMPT} backup key import ***`);

      term.write(CTRL_A_K + 'exit\r');
      expect(await Promise.race([term.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))])).toBe(0);
    } finally {
      term.kill();
    }

    const history = readFileSync(join(node.home, 'history', 'root'), 'utf8');
    expect(history).toContain('backup key import ***\n');
    expect(history).toContain('notify add error snmp://***@127.0.0.1:1162\n');
    for (const secret of SECRETS) expect(history).not.toContain(secret);

    const audit = await node.platform(['log', 'audit', '--since', '1h', '--limit', '100']);
    expect(audit.status).toBe(0);
    expect(audit.stdout).toContain('backup key import ***');
    expect(audit.stdout).toContain('diag urx ftp://ops:***@127.0.0.1/x');
    for (const secret of SECRETS) expect(audit.stdout).not.toContain(secret);

    // As stored: the database and its journal, byte for byte; platformd's log files and its output.
    const stored = ['config.db', 'config.db-wal'].map((f) => readFileSync(join(node.home, f)).toString('latin1')).join('');
    const logDir = join(node.home, 'logs');
    const logs = readdirSync(logDir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'latin1'))
      .join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of SECRETS) {
      expect(stored).not.toContain(secret);
      expect(logs).not.toContain(secret);
      expect(node.output()).not.toContain(secret);
    }
  }, 120_000);
});
