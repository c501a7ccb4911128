// Terminal safety: control characters someone else typed are shown escaped,
// on the terminal and in the audit log. A word holding a newline and a fake
// row must not print as a row of `log audit`; an ESC must not reach the
// terminal of whoever reads it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { escapeControls } from '../../core/escape.js';
import { renderBlocks, renderTable } from '../../core/text.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const ESC = '\x1b';
const FAKE_ROW = '2026-11-29 10:00:00Z  platform  ssh 10.0.0.1  user add mallory  ok';

describe('escapeControls', () => {
  it('shows C0, DEL, C1 and bidirectional overrides as visible escapes', () => {
    expect(escapeControls(`a${ESC}[31mb`)).toBe('a\\e[31mb');
    expect(escapeControls('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
    expect(escapeControls('\x00\x07\x7f\x9b')).toBe('\\x00\\x07\\x7f\\x9b');
    expect(escapeControls('evil\u202Etxt.exe')).toBe('evil\\u{202e}txt.exe');
  });

  it('keeps newlines and tabs of text made of lines, and everything printable', () => {
    expect(escapeControls(`one\n\ttwo${ESC}]0;title\x07`, { lines: true })).toBe('one\n\ttwo\\e]0;title\\x07');
    expect(escapeControls('héllo wörld €✓ 日本')).toBe('héllo wörld €✓ 日本');
  });
});

describe('the text renderer', () => {
  it('keeps a table cell on its row', () => {
    const out = renderTable(['user', 'command'], [['joe', `x\n${FAKE_ROW}`]]);
    expect(out.split('\n')).toHaveLength(3);
    expect(out).not.toContain(ESC);
  });

  it('escapes text blocks, trees and usage lists', () => {
    const out = renderBlocks([
      { kind: 'text', text: `line one\nline ${ESC}[2Jtwo` },
      { kind: 'tree', value: { [`k${ESC}`]: `v\n${FAKE_ROW}` } },
      { kind: 'usage', entries: [[`cmd${ESC}`, `summary\nmore`]] },
    ]);
    expect(out).not.toContain(ESC);
    expect(out).toContain('line one\nline \\e[2Jtwo');
    expect(out).not.toMatch(new RegExp(`^${FAKE_ROW}`, 'm'));
  });
});

describe('end to end', () => {
  let node: RunningDaemon;
  beforeAll(async () => {
    node = await startDaemon();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('echoes no control character in an error message', async () => {
    const result = await node.platform(['web', `x${ESC}[2J${ESC}]0;owned\x07`]);
    expect(result.status).toBe(2);
    expect(result.stderr).not.toContain(ESC);
    expect(result.stderr).toContain('\\e[2J');
  });

  it('stores and shows a word holding a newline and a fake row as one row', async () => {
    await node.platform(['system', `info\n${FAKE_ROW}`]);
    await node.platform(['web', `cert${ESC}[31m`]);
    const db = new Database(join(node.home, 'config.db'), { readonly: true });
    const stored = db.prepare('SELECT words, message FROM audit').all() as { words: string; message: string | null }[];
    db.close();
    for (const row of stored) {
      expect(row.words).not.toMatch(/[\n\x1b]/);
      expect(row.message ?? '').not.toContain(ESC);
    }
    const shown = await node.platform(['log', 'audit', '--since', '1h']);
    expect(shown.status).toBe(0);
    expect(shown.stdout).not.toContain(ESC);
    expect(shown.stdout).not.toMatch(new RegExp(`^${FAKE_ROW}`, 'm'));
    expect(shown.stdout).toContain(`info\\n${FAKE_ROW}`);
  });
});
