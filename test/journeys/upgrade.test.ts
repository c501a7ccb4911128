// The administrator brings a new release onto a running node (issue 23),
// typed into the real console: `network proxy`, then `system upgrade
// http://...` from a download server, its question answered y, the
// progress and the answer; then, once platformd is back on the new
// release, `system upgrade status`. The outcome is read from outside: the
// proxy's log (the download was tunnelled), the server's log, the product
// root's `current` link and the running daemon's command line. Last, a
// file changed under the running release: the node starts on the release
// before it, the banner says so, and `system release verify` clears it.

import { createReadStream, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { buildRelease, deriveRelease, installRelease, makeKey, stopByPidFile } from '../support/releases.js';
import { until } from '../support/until.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { openConsole, type ConsoleSession } from './console.js';

const HOSTNAME = 'upgrade01';
const work = tempHome('ps-journey-upgrade-');
const product = join(work, 'product');
const home = join(work, 'home');
const env = withoutCI();
let node: RunningDaemon;
/** platformd started again by the test, as systemd would, after a start that refused a changed release. */
let restarted: RunningDaemon | undefined;
let session: ConsoleSession;
let newer = '';
let proxy: ConnectProxy;
let downloads: Server;
let downloadAt = '';
const served: string[] = [];

beforeAll(async () => {
  mkdirSync(home);
  const key = makeKey(work);
  const first = await buildRelease(join(work, 'media'), '3.1.0', key);
  newer = await deriveRelease(first, join(work, 'media', 'platform-3.2.0.psup'), key, { version: '3.2.0' });
  await installRelease(product, first, key);
  node = await startDaemon({ home, env, program: join(product, 'current', 'bin', 'platformd.js') });
  const setup = await node.platform(['system', 'setup', '--hostname', HOSTNAME, '--role', 'unified,webproxy']);
  expect(setup.status, setup.stderr).toBe(0);
  session = await openConsole(home, HOSTNAME, { env });
  // A download server for the media folder, reached only through the proxy.
  downloads = createServer((req, res) => {
    served.push(`${req.method} ${req.url}`);
    createReadStream(join(work, 'media', String(req.url).slice(1)))
      .on('error', () => res.writeHead(404).end())
      .pipe(res);
  });
  await new Promise<void>((resolve) => downloads.listen(0, '127.0.0.1', resolve));
  downloadAt = `http://127.0.0.1:${(downloads.address() as AddressInfo).port}`;
  proxy = await startConnectProxy();
}, 240_000);

afterAll(async () => {
  await session?.close();
  await restarted?.stop({ keepHome: true });
  await node?.stop({ keepHome: true });
  await stopByPidFile(home);
  await proxy?.close();
  downloads?.close();
});

describe('upgrading a node from the console', () => {
  it('system upgrade asks, installs beside the running release and restarts on it; system upgrade status says how it went', async () => {
    expect(await session.type(`network proxy ${proxy.uri}`, 'NTP to the time servers')).toContain(proxy.uri);
    const question = await session.type(`system upgrade ${downloadAt}/${basename(newer)}`, '[y/N]', { question: true });
    expect(question).toMatch(/Upgrade this node\? platformd restarts on the new release/);
    const answer = await session.type('y', 'system upgrade status', { timeout: 60_000 });
    expect(answer).toContain(`fetching ${downloadAt}/${basename(newer)}`);
    expect(answer).toMatch(/release 3\.2\.0 is installed beside 3\.1\.0; platformd now restarts on it/);
    // From outside: the download went through the proxy, to the server.
    expect(proxy.connects).toEqual([`CONNECT ${new URL(downloadAt).host} HTTP/1.1`]);
    expect(served).toEqual([`GET /${basename(newer)}`]);

    await until('the upgrade to finish', () => !existsSync(join(product, 'state', 'upgrade-in-progress.json')) && existsSync(join(product, 'state', 'last-attempt.json')), 60_000);
    const status = await session.type('system upgrade status', / s\b/);
    expect(status).toMatch(/running\s*:?\s*3\.2\.0/);
    expect(status).toMatch(/previous\s*:?\s*3\.1\.0/);
    expect(status).toMatch(/upgrade 3\.1\.0 -> 3\.2\.0: upgraded at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, took [\d.]+ s/);

    // From outside: current names the new release, and the daemon serving runs from it.
    expect(readlinkSync(join(product, 'current'))).toBe('releases/3.2.0');
    const pid = Number(readFileSync(join(home, 'run', 'platformd.pid'), 'utf8'));
    const program = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[1]!;
    expect(realpathSync(program)).toBe(join(realpathSync(product), 'releases', '3.2.0', 'bin', 'platformd.js'));
  });

  it('system rollback says what is lost, goes back to the previous release and to the configuration of before the upgrade', async () => {
    // A change made on the new release: the snapshot taken before the upgrade does not hold it.
    await session.type('system maintenance-mode start', '[y/N]', { question: true });
    await session.type('y', 'maintenance-mode: on');
    const question = await session.type('system rollback', '[y/N]', { question: true });
    expect(question).toMatch(/Roll back to 3\.1\.0\? .*every change made since .* is lost/s);
    await session.type('y', 'system upgrade status', { timeout: 60_000 });
    await until('the rollback to finish', () => !existsSync(join(product, 'state', 'upgrade-in-progress.json')) && readlinkSync(join(product, 'current')) === 'releases/3.1.0', 60_000);
    await until('platformd on 3.1.0 to answer', async () => {
      const answer = await node.platform(['--json', 'system', 'upgrade', 'status']);
      return answer.status === 0 && JSON.parse(answer.stdout).running === '3.1.0';
    }, 60_000);
    const status = await session.type('system upgrade status', / s\b/);
    expect(status).toMatch(/rollback 3\.2\.0 -> 3\.1\.0: rolled-back/);
    expect(JSON.parse((await node.platform(['--json', 'system', 'maintenance-mode', 'status'])).stdout).maintenanceMode).toBe(false);
  }, 150_000);

  it('a file changed under the running release: the node starts on the one before, the banner says so, system release verify clears it', async () => {
    const upgraded = await node.platform(['--yes', 'system', 'upgrade', `file://${newer}`]);
    expect(upgraded.status, upgraded.stderr).toBe(0);
    await until('3.2.0 to run', async () => {
      if (existsSync(join(product, 'state', 'upgrade-in-progress.json'))) return false;
      const answer = await node.platform(['--json', 'system', 'upgrade', 'status']);
      return answer.status === 0 && JSON.parse(answer.stdout).running === '3.2.0';
    }, 90_000);

    // One byte changed, its size kept: only the hash can tell. The start refuses it and names 3.1.0 current.
    await stopByPidFile(home);
    const changed = join(product, 'releases', '3.2.0', 'dist', 'platform.js');
    const bytes = readFileSync(changed);
    bytes[bytes.length - 1] ^= 0x20;
    writeFileSync(changed, bytes);
    const program = join(product, 'current', 'bin', 'platformd.js');
    const refused = await startDaemon({ home, env, program }).then(
      (started) => {
        restarted = started;
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/RELEASE VERIFICATION FAILED: dist\/platform\.js of release 3\.2\.0 does not match its signed hash/);
    expect(readlinkSync(join(product, 'current'))).toBe('releases/3.1.0');
    // What systemd does on an appliance: start platformd again.
    restarted = await startDaemon({ home, env, program });

    // A new login: the banner says what failed, and the administrator has the running release checked whole.
    const login = await openConsole(home, HOSTNAME, { env });
    try {
      expect(login.banner).toMatch(/RELEASE VERIFICATION FAILED: 3\.2\.0: dist\/platform\.js/);
      const verified = await login.type('system release verify', 'files match its signed manifest', { timeout: 60_000 });
      expect(verified).toMatch(/release 3\.1\.0: all \d+ files match its signed manifest; RELEASE VERIFICATION FAILED is cleared/);
    } finally {
      await login.close();
    }
    // From outside: the folder that failed is gone, and the next login's banner is quiet.
    expect(existsSync(join(product, 'releases', '3.2.0'))).toBe(false);
    const next = await openConsole(home, HOSTNAME, { env });
    await next.close();
    expect(next.banner).not.toContain('RELEASE VERIFICATION FAILED');
  }, 240_000);
});
