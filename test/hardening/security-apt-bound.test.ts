// A repository server is hostile too: one that answers a byte at a time, each
// within apt's own per-read timeout, would hold apt (and the command) for
// ever. The product's bound on the apt run ends it (here shortened with
// PLATFORM_APT_TIME_BOUND_MS), kills apt and what it started, and says so;
// the daemon answers the next command at once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { buildRepository, type TestRepository } from '../security/repository.js';
import { until } from '../support/until.js';

const BOUND_MS = 3000;
let repo: TestRepository;
let node: RunningDaemon;
let slow: Server;
const sockets = new Set<Socket>();
const port = freePort();

beforeAll(async () => {
  repo = buildRepository(tempHome('ps-security-bound-'));
  // A status line, then one header byte every half second, never the end of the head.
  slow = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.write('HTTP/1.1 200 OK\r\n');
    const timer = setInterval(() => socket.write('X'), 500);
    socket.on('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => slow.listen(port, '127.0.0.1', resolve));
  node = await startDaemon({ env: withoutCI({ PLATFORM_OS_ROOT: repo.root, PLATFORM_APT_TIME_BOUND_MS: String(BOUND_MS) }) });
  mkdirSync(join(node.home, 'media'), { recursive: true });
  copyFileSync(repo.key, join(node.home, 'media', 'repo-key.asc'));
  expect((await node.platform(['security', 'source', `http://127.0.0.1:${port}/`, 'key', 'repo-key.asc'])).status).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => slow?.close(resolve));
  await node?.stop();
});

describe('a repository that answers a byte at a time', () => {
  it('is given up after the bound, apt stopped, and the daemon answers at once', async () => {
    const started = Date.now();
    const check = await node.platform(['security', 'check']);
    expect(check.status).toBe(1);
    expect(check.stderr).toMatch(/apt-get .*did not finish within 3 s and was stopped/);
    // Well before apt's own timeouts would (30 s a read): the product's bound ended it.
    expect(Date.now() - started).toBeLessThan(20_000);
    // apt and its http method are gone with it: nobody holds the connection.
    await until('the repository server to see its clients gone', () => sockets.size === 0, 5000);
    expect((await node.platform(['security', 'source'])).status).toBe(0);
  });
});
