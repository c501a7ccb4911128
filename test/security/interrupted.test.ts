// An update that stops half-way: a package of the repository fails to
// configure (its postinst exits 1). The answer is a failure that says which
// packages were installed before it stopped (dpkg says the same), and the
// next `security update` first completes what the last one left, then
// fails again on the same package, never silently.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { BROKEN, buildRepository, installedVersion, PACKAGES, type TestRepository } from './repository.js';

let repo: TestRepository;
let node: RunningDaemon;

beforeAll(async () => {
  repo = buildRepository(tempHome('ps-security-broken-'), { broken: true });
  node = await startDaemon({ env: withoutCI({ PLATFORM_OS_ROOT: repo.root }) });
  mkdirSync(join(node.home, 'media'), { recursive: true });
  copyFileSync(repo.key, join(node.home, 'media', 'repo-key.asc'));
  expect((await node.platform(['security', 'source', `file://${repo.repo}`, 'key', 'repo-key.asc'])).status).toBe(0);
}, 120_000);
afterAll(async () => {
  await node?.stop();
});

describe('an update that stops half-way', () => {
  it('fails, naming what was installed before it stopped, and never the broken package', async () => {
    const update = await node.platform(['--yes', 'security', 'update']);
    expect(update.status).toBe(1);
    expect(update.stderr).toMatch(/installing the updates failed/);
    expect(update.stderr).toMatch(/run "security update" again/);
    const installed = PACKAGES.filter((name) => installedVersion(repo.root, name) === '2.0-1');
    if (installed.length) expect(update.stderr).toContain(`installed before it stopped: ${installed.map((name) => `${name} 2.0-1`).join(', ')}`);
    else expect(update.stderr).toContain('nothing was installed');
    expect(update.stderr).not.toMatch(new RegExp(`${BROKEN} 2\\.0-1`));
  });

  it('the next update completes what is left first, and says plainly that the broken package still fails', async () => {
    const again = await node.platform(['--yes', 'security', 'update']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/completing an interrupted update failed \(dpkg --configure -a/);
    expect(again.stderr).toContain(BROKEN);
  });
});
