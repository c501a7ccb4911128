// A damaged, truncated, emptied or lost store stops platformd at start with
// a clear message saying how to restore: never a stack trace, never a silent
// fresh start over a node that existed (issue 15: a truncated config.db
// ended in a stack trace, an empty one started with no configuration).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, openSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORMD, freePort, startDaemon, tempHome, withoutCI } from '../support/daemon.js';

/** Runs platformd on a home until it exits (or 20 s): its status and what it said. */
function startRefused(home: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PLATFORMD, '--home', home, '--web-port', String(freePort()), '--http-port', String(freePort()), '--cluster-port', String(freePort())], { env: withoutCI(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 20_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

const home = tempHome('ps-damaged-');
const pristine = join(tempHome('ps-damaged-copy-'), 'config.db');
const db = join(home, 'config.db');

beforeAll(async () => {
  // A node that existed: set up, a location added, then stopped cleanly (the WAL folded in).
  const node = await startDaemon({ home });
  expect((await node.platform(['system', 'setup', '--hostname', 'kept', '--role', 'unified'])).status).toBe(0);
  expect((await node.platform(['backup', 'add', 'loc', 'sftp://u:pw@10.0.0.1/b'])).status).toBe(0);
  await node.stop({ keepHome: true });
  copyFileSync(db, pristine);
});

afterAll(() => rmSync(pristine, { force: true }));

function restore() {
  copyFileSync(pristine, db);
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });
}

function expectRefusal(result: { status: number | null; output: string }, problem: RegExp) {
  expect(result.status, result.output).toBe(1);
  expect(result.output).toMatch(problem);
  expect(result.output).toMatch(/To restore: stop platformd, copy config.db and store.key/);
  expect(result.output).not.toMatch(/\n\s+at |SqliteError|serving/);
}

describe('platformd refuses a store it cannot trust', () => {
  it('damaged pages (PRAGMA quick_check fails)', async () => {
    restore();
    const fd = openSync(db, 'r+');
    // Scribble over the second page onwards (the first holds the header SQLite checks before anything).
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096);
    closeSync(fd);
    expectRefusal(await startRefused(home), /is damaged/);
  });

  it('a truncated file', async () => {
    restore();
    truncateSync(db, 50);
    expectRefusal(await startRefused(home), /damaged or truncated|is damaged/);
  });

  it('an empty file where a node existed', async () => {
    restore();
    truncateSync(db, 0);
    expectRefusal(await startRefused(home), /is empty, but this node was set up before/);
  });

  it('a missing file where a node existed', async () => {
    rmSync(db);
    expectRefusal(await startRefused(home), /is missing, but this node was set up before/);
  });

  it('sealed secrets whose key is gone', async () => {
    restore();
    const key = join(home, 'store.key');
    const saved = join(tempHome('ps-key-'), 'store.key');
    copyFileSync(key, saved);
    rmSync(key);
    expectRefusal(await startRefused(home), /sealed secrets, but their key .*store.key is missing/);
    copyFileSync(saved, key);
  });

  it('and serves the restored store as it was', async () => {
    restore();
    const node = await startDaemon({ home });
    const info = JSON.parse((await node.platform(['system', 'info', '--json'])).stdout);
    expect(info.hostname).toBe('kept');
    expect((await node.platform(['backup', 'list'])).stdout).toContain('sftp://u:***@10.0.0.1/b');
    await node.stop({ keepHome: true });
  });

  it('while a new home still starts afresh', async () => {
    const node = await startDaemon();
    expect((await node.platform(['system', 'info'])).status).toBe(0);
    await node.stop();
  });
});
