// The store never lies, also with the data folder full. The home is a small
// tmpfs mounted here (removed after): filled to the last byte, every write
// either answers exit 0 and survives a restart, or answers exit 1 with
// "the data folder is full" and leaves nothing behind; once space is back
// the next write works. On main a failed `backup del` left the connection
// inside a transaction: later writes answered 0 and were lost at restart.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'ps-full-'));
const home = join(mountPoint, 'home');
const filler = join(mountPoint, 'filler');
let node: RunningDaemon;

/** Fills the file system: dd stops at ENOSPC (its non-zero status is the point). */
function fill() {
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
  spawnSync('dd', ['if=/dev/zero', `of=${filler}-tail`, 'bs=512'], { stdio: 'ignore' });
}
function free() {
  rmSync(filler, { force: true });
  rmSync(`${filler}-tail`, { force: true });
}

const locations = async () => (JSON.parse((await node.platform(['backup', 'list', '--json'])).stdout).locations as { name: string; uri: string }[]).map((l) => l.name);

beforeAll(async () => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0755', 'tmpfs', mountPoint]);
  node = await startDaemon({ home });
});

afterAll(async () => {
  await node?.stop({ keepHome: true });
  spawnSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe('a full data folder', () => {
  const acknowledged: string[] = [];
  const refused: string[] = [];

  it('answers each write with exit 0 or a clear "data folder is full" (exit 1), never a stack trace', async () => {
    expect((await node.platform(['backup', 'add', 'before', 'sftp://u:pw@10.0.0.1/b'])).status).toBe(0);
    acknowledged.push('before');
    fill();
    // The reproduction: a delete on a full disk, then more writes.
    const del = await node.platform(['backup', 'del', 'before']);
    if (del.status === 0) acknowledged.splice(acknowledged.indexOf('before'), 1);
    else {
      expect(del.status).toBe(1);
      expect(del.stderr).toMatch(/the data folder is full/);
    }
    for (let i = 0; i < 6; i++) {
      const name = `full${i}`;
      const result = await node.platform(['backup', 'add', name, `sftp://u:pw@10.0.0.${i + 2}/${'p'.repeat(2000)}`]);
      expect(result.stderr).not.toMatch(/    at |SqliteError|cannot (commit|start a transaction)/);
      if (result.status === 0) acknowledged.push(name);
      else {
        expect(result.status, result.stderr).toBe(1);
        expect(result.stderr).toMatch(/the data folder is full/);
        refused.push(name);
      }
    }
    expect(refused.length).toBeGreaterThan(0);
    // Reads keep working while full.
    expect((await node.platform(['system', 'info'])).status).toBe(0);
  });

  it('takes writes again once space is back', async () => {
    free();
    const result = await node.platform(['backup', 'add', 'after', 'sftp://u:pw@10.0.0.99/a']);
    expect(result.status, result.stderr).toBe(0);
    acknowledged.push('after');
  });

  it('has lost nothing acknowledged, and holds nothing refused, after a restart', async () => {
    await node.stop({ keepHome: true });
    node = await startDaemon({ home });
    const names = await locations();
    expect(names.sort()).toEqual([...acknowledged].sort());
    for (const name of refused) expect(names).not.toContain(name);
  });
});
