// A command can carry another one (`schedule add <job> <command...>`,
// `cluster run <nodes> <command...>`): the carried command's secrets are
// hidden as they are when it is typed alone, in the audit log (parse) and
// in the console's history (redactWords); and a line holding a secret is
// never kept as a scheduled job, whose words the store keeps in clear.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { groups } from '../../commands/index.js';
import { buildTree, parse, redactWords } from '../../commands/tree.js';
import { redactSecrets } from '../../net/uri.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const KEY = `psbk1-${'A'.repeat(43)}`;
const PASSWORD = 'Sup3r-s3cret';
const tree = buildTree(groups);
const hideUnparsed = (w: string) => redactSecrets(w, { word: true });

const carried: string[][] = [
  ['schedule', 'add', 'j1', 'backup', 'key', 'import', KEY],
  ['schedule', 'add', 'j2', 'diag', 'uri', `ftp://ops:${PASSWORD}@files.example.test/x`, 'test'],
  ['cluster', 'run', 'all', 'backup', 'key', 'import', KEY],
  ['sch', 'add', 'j3', 'sch', 'add', 'j4', 'notify', 'add', 'error', `snmp://${PASSWORD}@10.0.0.9`],
];

describe('a command carried by another', () => {
  it('keeps its secrets out of the audit words', () => {
    for (const words of carried) {
      const parsed = parse(tree, words);
      expect(parsed.kind).toBe('command');
      const audit = parsed.kind === 'command' ? parsed.audit : '';
      expect(audit, words.join(' ')).not.toContain(KEY);
      expect(audit, words.join(' ')).not.toContain(PASSWORD);
    }
  });

  it('keeps its secrets out of what the console keeps and echoes', () => {
    for (const words of carried) {
      const kept = redactWords(tree, words, hideUnparsed).join(' ');
      expect(kept, words.join(' ')).not.toContain(KEY);
      expect(kept, words.join(' ')).not.toContain(PASSWORD);
      expect(kept, words.join(' ')).toContain('***');
    }
  });
});

describe('a scheduled job', () => {
  let node: RunningDaemon;
  beforeAll(async () => {
    node = await startDaemon();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('is refused when its command holds a secret, and the refusal keeps none', async () => {
    const refused = await node.platform(['schedule', 'add', 'leaky', 'diag', 'uri', `ftp://ops:${PASSWORD}@files.example.test/x`, 'test']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('holds a secret');
    expect(refused.stdout + refused.stderr).not.toContain(PASSWORD);
    expect((await node.platform(['schedule', 'list'])).stdout).not.toContain('leaky');
    const db = new Database(join(node.home, 'config.db'), { readonly: true });
    const rows = db.prepare("SELECT words, message FROM audit WHERE words LIKE 'schedule add leaky%'").all() as { words: string; message: string | null }[];
    db.close();
    expect(rows.length).toBe(1);
    expect(JSON.stringify(rows)).not.toContain(PASSWORD);
    // A line without a secret is a job as before.
    expect((await node.platform(['schedule', 'add', 'fine', 'diag', 'uri', 'ftp://ops@files.example.test/x', 'test'])).status).toBe(0);
  });
});
