// The web certificate's details are bounded and checked wherever they come
// from: options typed in one-shot use, and details read back from a store
// (restored, or written by an older version) before they go into a CSR or a
// certificate. A refusal changes nothing and never echoes a control character.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
});
afterAll(async () => {
  await node?.stop();
});

describe('web certificate details', () => {
  it.each([
    [['--email', `${'a'.repeat(250)}@example.test`], /email ".*" is longer than 255 characters/],
    [['--organization', 'Evil\x1b[2J Ltd'], /O "Evil\\u001b\[2J Ltd" holds a control character/],
    [['--country', 'ZAF'], /C "ZAF" is longer than 2 characters/],
    [['--altNames', 'web01,$(reboot)'], /SAN "\$\(reboot\)" is neither a host name nor an IP address/],
  ])('refuses %j from the command line, and keeps the details as they were', async (options, message) => {
    const before = (await node.platform(['--json', 'web', 'cert', 'details'])).stdout;
    const result = await node.platform(['web', 'cert', 'details', 'edit', ...options]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\x1b/);
    expect((await node.platform(['--json', 'web', 'cert', 'details'])).stdout).toBe(before);
  });

  it('refuses details from the store that break the bounds before making a CSR or a certificate with them', async () => {
    const served = readFileSync(join(node.home, 'certs', 'web', 'fullchain.pem'), 'utf8');
    const db = new Database(join(node.home, 'config.db'));
    db.prepare("INSERT INTO settings (key, value) VALUES ('web.certDetails', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
      // Within the store's own bound for a text (256), beyond X.509's for an organization (64).
      JSON.stringify({ commonName: 'web01.example.test', organization: 'x'.repeat(100), altNames: [] }),
    );
    db.close();
    for (const words of [['web', 'cert', 'gen_csr'], ['web', 'cert', 'gen_selfsigned', '--yes']]) {
      const result = await node.platform(words);
      expect(result.status, words.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/O "x+.* is longer than 64 characters/);
    }
    expect(readdirSync(join(node.home, 'media')).filter((f) => f.endsWith('.csr'))).toEqual([]);
    expect(readFileSync(join(node.home, 'certs', 'web', 'fullchain.pem'), 'utf8')).toBe(served);
  });
});
