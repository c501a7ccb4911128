// `backup add <name> <uri> alternate <uri>`: the alternate is input under
// the same rules as the location's own URI (its schemes, its grammar, a
// file:// folder that exists; control characters in a path are kept
// percent-encoded, never raw), its password sealed at rest and never shown
// nor audited, and a refused alternate leaves nothing half-added.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const SECRET = 'Alt3rnate-s3cret';
let node: RunningDaemon;
const folder = mkdtempSync(join(tmpdir(), 'ps-alt-folder-'));

beforeAll(async () => {
  node = await startDaemon();
});

afterAll(async () => {
  await node?.stop();
  rmSync(folder, { recursive: true, force: true });
});

const locations = async () => (JSON.parse((await node.platform(['--json', 'backup', 'list'])).stdout) as { locations: { name: string }[] }).locations.map((l) => l.name);

describe('the alternate URI of a backup location', () => {
  const refused: [string, string[], RegExp][] = [
    ['a scheme backups cannot use', ['alternate', 'https://example.test/b'], /<alternate-uri>: https URIs cannot be used here; use sftp, scp, ftp, file/],
    ['a host with a control character', ['alternate', 'sftp://u@ho\u001b[2Jst/p'], /<alternate-uri>:/],
    ['a port out of range', ['alternate', 'sftp://u@host:70000/p'], /<alternate-uri>: port: "70000" is not a port number/],
    ['a folder that does not exist', ['alternate', 'file:///nonexistent/ps-alternate'], /\/nonexistent\/ps-alternate does not exist on this node/],
    ['the word without a URI', ['alternate'], /the alternate URI is missing/],
    ['another word than "alternate"', ['fallback', 'sftp://u@host/p'], /"fallback" is not "alternate"/],
    ['the same URI twice', ['alternate', 'sftp://u@backup.example.test/b'], /the alternate is the same URI as the location/],
  ];
  for (const [what, words, message] of refused) {
    it(`refuses ${what} with exit 2, adding nothing`, async () => {
      const result = await node.platform(['backup', 'add', 'x', 'sftp://u@backup.example.test/b', ...words]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\u001b\[2J/);
      expect(await locations()).not.toContain('x');
    });
  }

  it('keeps a control character of its path percent-encoded, as the primary does', async () => {
    const added = await node.platform(['backup', 'add', 'encoded', 'sftp://u@backup.example.test/b', 'alternate', 'sftp://u@other.example.test/p\u001b[2J']);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toContain('sftp://u@other.example.test/p%1B%5B2J');
    expect(added.stdout).not.toContain('\u001b');
    expect((await node.platform(['backup', 'del', 'encoded'])).status).toBe(0);
  });

  it('keeps its password sealed at rest, out of every answer and of the audit log', async () => {
    const added = await node.platform(['backup', 'add', 'sealed', `file://${folder}`, 'alternate', `ftp://ann:${SECRET}@192.0.2.8/b`]);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toContain('ftp://ann:***@192.0.2.8/b');
    for (const words of [['backup', 'list'], ['--json', 'backup', 'list'], ['network', 'requirements'], ['log', 'audit']]) {
      const shown = await node.platform(words);
      expect(shown.stdout + shown.stderr, words.join(' ')).not.toContain(SECRET);
    }
    expect(readFileSync(join(node.home, 'config.db')).includes(Buffer.from(SECRET))).toBe(false);
  });
});
