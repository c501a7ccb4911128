// Health monitoring on a node whose data folder is a small tmpfs: the banner
// says HEALTH: MONITORED while the thresholds hold, and an upper-case
// summary of the problem once the data folder drops below 30 % free.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const home = `/tmp/ps-health-${process.pid}`;
let node: RunningDaemon;

beforeAll(async () => {
  mkdirSync(home, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', home]);
  node = await startDaemon({ home });
});

afterAll(async () => {
  await node?.stop();
  spawnSync('umount', [home]);
  rmSync(home, { recursive: true, force: true });
});

const healthLine = async () => (await node.platform(['health'])).stdout.split('\n').find((l) => l.startsWith('HEALTH:'));

describe('health monitoring', () => {
  it('is off until enabled', async () => {
    expect(await healthLine()).toBe('HEALTH: NOT MONITORED');
  });

  it('shows MONITORED while every threshold holds', async () => {
    const thresholds = await node.platform(['system', 'health_monitoring', 'threshold']);
    expect(thresholds.stdout).toContain('disk_root: 30% free');
    expect(thresholds.stdout).toContain('disk_data: 30% free');
    expect(thresholds.stdout).toContain('disk_logs: 10% free');
    // This machine's own / and load are not the test's to control: only the data folder is watched here.
    for (const [name, value] of [['disk_root', '1'], ['disk_logs', '1'], ['memory', '1'], ['load', '100']]) {
      expect((await node.platform(['system', 'health_monitoring', 'threshold', name!, value!])).status).toBe(0);
    }
    const enabled = await node.platform(['system', 'health_monitoring', 'enable', '1']);
    expect(enabled.status, enabled.stderr).toBe(0);
    expect(await healthLine()).toBe('HEALTH: MONITORED');
  });

  it('summarises a crossed threshold in upper case, and recovers', async () => {
    spawnSync('dd', ['if=/dev/zero', `of=${join(home, 'filler')}`, 'bs=1M', 'count=26'], { stdio: 'ignore' });
    const check = await node.platform(['diag', 'health']);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/disk data.*PROBLEM/);
    expect(await healthLine()).toMatch(new RegExp(`^HEALTH: LOW DISK ${home.toUpperCase()} \\d+% FREE$`));
    rmSync(join(home, 'filler'));
    expect((await node.platform(['diag', 'health'])).status).toBe(0);
    expect(await healthLine()).toBe('HEALTH: MONITORED');
    expect((await node.platform(['system', 'health_monitoring', 'disable'])).status).toBe(0);
    expect(await healthLine()).toBe('HEALTH: NOT MONITORED');
  });
});
