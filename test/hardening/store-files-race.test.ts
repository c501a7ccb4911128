// Files are opened once and checked through the descriptor (os/files.ts):
// a FIFO or a symbolic link swapped in for an upload between any check and
// the open is refused without blocking the daemon, and a 1.5 GB file is
// refused from its size before a byte is read.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { rename, rm, symlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { closeSync, openSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBoundedFile } from '../../os/files.js';
import { startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

const GB_1_5 = 1.5 * 1024 * 1024 * 1024;

describe('readBoundedFile', () => {
  const dir = tempHome('ps-files-');
  it('refuses a FIFO at once (no writer needed to block it)', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const started = performance.now();
    await expect(readBoundedFile(fifo, { maxBytes: 1024, label: 'fifo' })).rejects.toThrow(/not a regular file/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses a symbolic link, a folder, and a missing file, each in words', async () => {
    writeFileSync(join(dir, 'real'), 'x');
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    await expect(readBoundedFile(join(dir, 'link'), { maxBytes: 10, label: 'link' })).rejects.toThrow(/symbolic link/);
    await expect(readBoundedFile(dir, { maxBytes: 10, label: 'dir' })).rejects.toThrow(/folder/);
    await expect(readBoundedFile(join(dir, 'none'), { maxBytes: 10, label: 'none' })).rejects.toThrow(/does not exist/);
  });

  it('refuses a 1.5 GB sparse file from its size, without reading it', async () => {
    const big = join(dir, 'big');
    closeSync(openSync(big, 'w'));
    truncateSync(big, GB_1_5);
    const started = performance.now();
    await expect(readBoundedFile(big, { maxBytes: 1024 * 1024, label: 'big' })).rejects.toThrow(/1610612736 bytes; at most 1 MiB/);
    expect(performance.now() - started).toBeLessThan(1000);
    rmSync(big);
  });

  it('reads a file within its bound whole', async () => {
    writeFileSync(join(dir, 'ok'), 'hello');
    expect((await readBoundedFile(join(dir, 'ok'), { maxBytes: 5, label: 'ok' })).toString()).toBe('hello');
  });
});

describe('uploads swapped while the daemon reads them', () => {
  let node: RunningDaemon;
  const media = () => join(node.home, 'media');
  beforeAll(async () => {
    node = await startDaemon();
  });
  afterAll(async () => {
    await node.stop();
  });

  /** `system info` must answer within a second: the daemon is not blocked. */
  async function stillAnswers() {
    const started = performance.now();
    const info = await node.platform(['system', 'info']);
    expect(info.status).toBe(0);
    // The console's own start-up (~150 ms idle, more on a loaded machine) is in this; a blocked daemon never answers.
    expect(performance.now() - started).toBeLessThan(3000);
  }

  it('refuses a FIFO in media for web cert add, system banner add and user addkey, and keeps answering', async () => {
    execFileSync('mkfifo', [join(media(), 'pipe.pem')]);
    for (const words of [['web', 'cert', 'add', 'pipe.pem'], ['system', 'banner', 'add', 'pipe.pem'], ['user', 'addkey', 'platform', 'pipe.pem']]) {
      const result = await node.platform(words);
      expect(result.status, words.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/not a regular file/);
      await stillAnswers();
    }
  });

  it('refuses a 1.5 GB sparse upload quickly for every command that reads media', async () => {
    const big = join(media(), 'big.pem');
    closeSync(openSync(big, 'w'));
    truncateSync(big, GB_1_5);
    for (const words of [['web', 'cert', 'add', 'big.pem'], ['system', 'banner', 'add', 'big.pem'], ['user', 'addkey', 'platform', 'big.pem']]) {
      const result = await node.platform(words);
      expect(result.status, words.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/1610612736 bytes|too long|at most/);
    }
    await stillAnswers();
    rmSync(big);
  });

  it('survives a file swapped for a FIFO and a symlink while web cert add runs, again and again', async () => {
    const upload = join(media(), 'swap.pem');
    const pem = '-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n';
    const mkfifo = promisify(execFile);
    let swapping = true;
    // Swaps a regular file, a FIFO and a link to /etc/shadow in turn, each put in place by an
    // atomic rename, as fast as it can (asynchronously: the timings below stay the daemon's).
    const swapper = (async () => {
      for (let i = 0; swapping; i++) {
        const next = `${upload}.next`;
        await rm(next, { force: true });
        if (i % 3 === 0) await writeFile(next, pem);
        else if (i % 3 === 1) await mkfifo('mkfifo', [next]);
        else await symlink('/etc/shadow', next);
        await rename(next, upload);
      }
    })();
    try {
      for (let round = 0; round < 8; round++) {
        const result = await node.platform(['web', 'cert', 'add', 'swap.pem']);
        expect([1, 2]).toContain(result.status);
        expect(result.stderr).not.toMatch(/ENOENT|EAGAIN|    at /);
        await stillAnswers();
      }
    } finally {
      swapping = false;
      await swapper;
    }
  });
});
