// Names are never paths: every value that becomes part of a file name goes
// through store/names.ts. The reproduction of issue 15: a common name of
// "../../x" made `web cert gen_csr` write x.csr outside media, as root.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import { PlatformError } from '../../core/errors.js';
import { fileIn, safeName } from '../../os/names.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

describe('safeName', () => {
  it('refuses separators, dot names, NUL, control characters, empty and overlong names', () => {
    for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', '/etc/passwd', 'x\0y', 'x\ny', 'x\x1b[31m', 'x\x7f', 'a'.repeat(201)]) {
      expect(() => safeName(bad), JSON.stringify(bad)).toThrow(PlatformError);
      try {
        safeName(bad, 'CN');
      } catch (error) {
        expect((error as PlatformError).exitStatus).toBe(2);
        // The refusal never echoes a control character raw.
        expect((error as Error).message).not.toMatch(/[\x00-\x1f]/);
      }
    }
  });

  it('keeps plain names, and fileIn stays directly inside its folder', () => {
    for (const good of ['web01.example.test.csr', 'cert.pem', '.hidden', 'a..b', 'ünïcode name']) expect(safeName(good)).toBe(good);
    expect(dirname(fileIn('/opt/platform/media', 'x.csr'))).toBe('/opt/platform/media');
  });
});

describe('a common name that tries to be a path', () => {
  let node: RunningDaemon;
  beforeAll(async () => {
    node = await startDaemon();
  });
  afterAll(async () => {
    await node.stop({ keepHome: true });
  });

  it('is refused by "web cert details edit", and nothing is written outside media', async () => {
    const result = await node.platform(['web', 'cert', 'details', 'edit', '--commonName', '../../x']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/path separator/);
    const csr = await node.platform(['web', 'cert', 'gen_csr']);
    expect(csr.status, csr.stderr).toBe(0);
    expect(existsSync(join(node.home, '..', 'x.csr'))).toBe(false);
    expect(readdirSync(join(node.home, 'media')).filter((f) => f.endsWith('.csr'))).toHaveLength(1);
  });

  it('stored by an older version, makes "web cert gen_csr" and "print_csr" refuse rather than write outside media', async () => {
    // What main allowed: the details kept in the store with a path for a CN.
    const db = new Database(join(node.home, 'config.db'));
    db.prepare("INSERT INTO settings (key, value) VALUES ('web.certDetails', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(JSON.stringify({ commonName: '../../escaped', altNames: [] }));
    db.close();
    for (const words of [['web', 'cert', 'gen_csr'], ['web', 'cert', 'print_csr']]) {
      const result = await node.platform(words);
      expect(result.status, words.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/path separator/);
    }
    expect(existsSync(join(node.home, '..', 'escaped.csr'))).toBe(false);
    expect(existsSync(join(node.home, 'escaped.csr'))).toBe(false);
  });

  it('user addkey refuses a user or file name that is a path', async () => {
    const byFile = await node.platform(['user', 'addkey', 'platform', '../config.db']);
    expect(byFile.status).toBe(2);
    expect(byFile.stderr).toMatch(/path separator/);
  });
});
