// Keeping a node current, typed into the real console: the administrator
// uploads the repository's key to media, names the package source, checks
// what is pending (the next login's banner counts it, the mailbox holds the
// warning), installs it after
// answering the question, and schedules the update as a weekly job, run now.
// The repository is built and signed here; the node's OS root is a tree of
// the test's own, and dpkg-query reads what was really installed there.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { buildRepository, installedVersion, PACKAGES, type TestRepository } from '../security/repository.js';
import { openConsole, type ConsoleSession } from './console.js';
import { until } from '../support/until.js';

const HOST = 'patch01';
let repo: TestRepository;
let node: RunningDaemon;
let session: ConsoleSession | undefined;

const versions = () => PACKAGES.map((name) => installedVersion(repo.root, name));

beforeAll(async () => {
  repo = buildRepository(tempHome('ps-journey-security-'));
  // The events monitor looks every half second and counts a condition after a second (20 s on a node).
  node = await startDaemon({ env: withoutCI({ PLATFORM_OS_ROOT: repo.root, PLATFORM_EVENTS_INTERVAL_MS: '500', PLATFORM_EVENTS_GRACE_MS: '1000' }) });
  expect((await node.platform(['system', 'setup', '--hostname', HOST, '--role', 'webproxy'])).status).toBe(0);
  // What `scp repo-key.asc platform@node:media/` leaves.
  mkdirSync(join(node.home, 'media'), { recursive: true });
  copyFileSync(repo.key, join(node.home, 'media', 'repo-key.asc'));
}, 120_000);

afterAll(async () => {
  await session?.close().catch(() => session?.terminal.kill());
  await node?.stop();
});

describe('OS security updates, from the console', () => {
  it('names the source with its key, and a check lists what is pending', async () => {
    session = await openConsole(node.home, HOST);
    expect(session.banner).not.toContain('SECURITY UPDATES');
    const set = await session.type(`security source file://${repo.repo} suite stable key repo-key.asc`, 'key fingerprints:');
    expect(set).toMatch(/key fingerprints: [0-9A-F]{40}/);
    const check = await session.type('security check', 'install with "security update"');
    for (const name of PACKAGES) expect(check).toMatch(new RegExp(`${name} +1\\.0-1 +2\\.0-1`));
    expect(check).toContain('2 updates pending');
    await session.close();
    session = undefined;
  });

  it('the next login shows SECURITY UPDATES: 2 on the banner, and the mailbox holds the warning', async () => {
    session = await openConsole(node.home, HOST);
    expect(session.banner).toContain('SECURITY UPDATES: 2');
    await until('the security-updates event in the mailbox', async () => (JSON.parse((await node.platform(['--json', 'mail', 'list'])).stdout) as { event: string }[]).some((m) => m.event === 'security-updates'));
    await session.type('mail list', 'security-updates');
  });

  it('security update asks first, then installs version 2 and says which service it would restart', async () => {
    await session!.type('security update', '[y/N]', { question: true });
    const said = await session!.type('y', 'installed 2 updates', { timeout: 120_000 });
    expect(said).toMatch(/platform-demo +1\.0-1 +2\.0-1/);
    expect(said).toMatch(/not restarted: platform-snmpd \(not an appliance/);
    expect(versions()).toEqual(['2.0-1', '2.0-1']);
    await session!.close();
    session = await openConsole(node.home, HOST);
    expect(session.banner).not.toContain('SECURITY UPDATES');
  });

  it('scheduled as a job, the update runs without a question and its log says what it installed', async () => {
    // The node drifts behind again (version 1 put back by hand).
    for (const name of PACKAGES) execFileSync('dpkg', [`--root=${repo.root}`, '-i', join(repo.dir, `${name}_1.0-1_all.deb`)], { stdio: 'ignore' });
    expect(versions()).toEqual(['1.0-1', '1.0-1']);
    const added = await session!.type('schedule add patch security update', 'runs:');
    expect(added).toContain('command: security update');
    await session!.type('schedule time patch weekly 0', 'weekly');
    await session!.type('schedule run patch', 'patch ok', { timeout: 120_000 });
    expect(versions()).toEqual(['2.0-1', '2.0-1']);
    const log = await session!.type('schedule log patch', 'ok (exit 0)');
    expect(log).toContain('installed 2 updates');
  });
});
