// The console in a real pseudo-terminal against a real platformd, for what
// the administrator's first day ran into: a refused password, a password
// typed at the prompt, clear and Ctrl-L, hints for unknown commands, `?` on
// an argument; and `snmp user add` scripted one-shot.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { openTerminal, type Terminal } from '../support/pty.js';
import { until } from '../support/until.js';

const PROMPT = 'platform@pty01:~$';
const WEAK = 'weakling';
const STRONG = 'Longer-Pa55word';

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
  await node.platform(['system', 'setup', '--hostname', 'pty01', '--role', 'webproxy']);
  await node.platform(['user', 'add', 'ann']);
});
afterAll(async () => {
  await node?.stop();
});

async function withConsole(fn: (term: Terminal) => Promise<void>): Promise<void> {
  const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home]);
  try {
    await term.waitFor(PROMPT);
    await fn(term);
    term.write('\x01\x0bexit\r');
    expect(await Promise.race([term.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))])).toBe(0);
  } finally {
    term.kill();
  }
}

describe('console: secret questions', () => {
  it('asks again for a refused password, and a password typed at the prompt runs nowhere', async () => {
    await withConsole(async (term) => {
      let mark = term.screen().length;
      term.write('user password ann\r');
      await term.waitFor('new password for ann:', { from: mark });
      mark = term.screen().length;
      term.write(`${WEAK}\r`);
      // Not back at the prompt: the same question again, saying why.
      await term.waitFor(/the password needs [^\n]*; try 2 of 3, new password for ann:/, { from: mark });
      term.write(`${STRONG}\r`);
      await term.waitFor('again:', { from: mark });
      term.write(`${STRONG}\r`);
      const done = await term.waitFor(PROMPT, { from: mark });
      expect(term.screen().slice(mark, done)).not.toContain('nothing changed');

      // The person thought a question was still open and types the password at the prompt.
      mark = term.screen().length;
      term.write(`${STRONG}\r`);
      await term.waitFor('not run: that is the answer you gave to a secret question', { from: mark });
      await term.waitFor(PROMPT, { from: mark + 1 });
      expect(term.screen()).not.toContain(STRONG);
      expect(term.screen()).not.toContain(WEAK);
    });
    const history = readFileSync(join(node.home, 'history', 'root'), 'utf8');
    expect(history).toContain('user password ann\n');
    expect(history).not.toContain(STRONG);
    expect(history).not.toContain(WEAK);
    const audit = await node.platform(['log', 'audit', '--since', '1h', '--limit', '50']);
    expect(audit.stdout).toContain('user password ann');
    expect(audit.stdout).not.toContain(STRONG);
    expect(audit.stdout).not.toContain(WEAK);
  });

  it('ends the command after three refused passwords, changing nothing', async () => {
    await withConsole(async (term) => {
      const mark = term.screen().length;
      term.write('user password ann\r');
      // Each answer goes in only once the daemon has asked the next question: keys typed while a command runs are
      // dropped. The question names its try, which the echo of the one before does not.
      const since = (at: number) => term.raw().slice(at).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      await until('the first question', () => since(0).includes('new password for ann:'), 30_000, 20);
      for (let i = 0; i < 3; i++) {
        const typedAt = term.raw().length;
        term.write(`${WEAK}${i}\r`);
        const expected = i < 2 ? `; try ${i + 2} of 3, new password for ann:` : 'nothing changed';
        await until(`the answer to password ${i + 1}`, () => since(typedAt).includes(expected), 30_000, 20);
      }
      await term.waitFor(PROMPT, { from: mark + 1 });
    });
  });
});

describe('console: clear, hints and ?', () => {
  it('clear and Ctrl-L clear the screen and its scroll-back; the prompt comes back', async () => {
    await withConsole(async (term) => {
      let mark = term.raw().length;
      term.write('clear\r');
      await until('the screen and scroll-back erased', () => term.raw().slice(mark).includes('\x1b[3J'), 10_000, 20);
      await term.waitFor(PROMPT, { from: term.screen().length - PROMPT.length - 5 });
      expect(term.screen()).not.toContain('unknown command "clear"');
      mark = term.raw().length;
      term.write('sys\x0c');
      await until('the screen and scroll-back erased', () => term.raw().slice(mark).includes('\x1b[3J'), 10_000, 20);
      // The line being typed stays.
      term.write('\t');
      await term.waitFor(`${PROMPT} system `, { from: 0 });
    });
  });

  it('suggests the command other words point at, and ? shows an argument\'s range', async () => {
    await withConsole(async (term) => {
      let mark = term.screen().length;
      term.write('show firewall\r');
      await term.waitFor('did you mean "firewall status"?', { from: mark });
      await term.waitFor(PROMPT, { from: mark + 1 });
      mark = term.screen().length;
      term.write('web weight add app1:443 ');
      await term.waitFor(`${PROMPT} web weight add app1:443 `, { from: mark });
      term.write('?');
      await term.waitFor(/<weight>\s+weight, 0\.\.100/, { from: mark });
    });
  });
});

describe('snmp user add, scripted', () => {
  it('reads its passwords from standard input with --passwords-from-stdin', async () => {
    const added = await node.platform(['snmp', 'user', 'add', 'scripted', 'SHA', 'AES', '--passwords-from-stdin'], { input: 'Auth-Pass-123\nPriv-Pass-456\n' });
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    const list = await node.platform(['snmp', 'user', 'list']);
    expect(list.stdout).toMatch(/scripted\s+SHA\s+AES\s+set/);
    const audit = await node.platform(['log', 'audit', '--since', '1h', '--limit', '20']);
    expect(audit.stdout).toContain('snmp user add --passwords-from-stdin scripted SHA AES');
    expect(audit.stdout).not.toContain('Auth-Pass-123');
  });

  it('refuses a missing line plainly (exit 2), and asks nobody without the flag', async () => {
    const short = await node.platform(['snmp', 'user', 'add', 'short', 'SHA', 'AES', '--passwords-from-stdin'], { input: 'Auth-Pass-123\n' });
    expect(short.status).toBe(2);
    expect(short.stderr).toContain('privacy password');
    const unflagged = await node.platform(['snmp', 'user', 'add', 'unflagged', 'SHA', 'none'], { input: 'Auth-Pass-123\n' });
    expect(unflagged.status).toBe(2);
    expect(unflagged.stderr).toContain('nobody to ask');
    expect((await node.platform(['snmp', 'user', 'list'])).stdout).not.toMatch(/short|unflagged/);
  });
});
