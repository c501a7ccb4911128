// `cluster upgrade` on a real cluster: a primary and two members, each a
// platformd running from an installed release (1.0.0) in its own product
// root, on a LAN of network namespaces. Release 1.0.1 carries a real fault
// that fires only on a node whose home holds a file `fail-next-release`:
// its platformd exits at start, so that node's own health gate rolls it back.
// First run: the fault is armed on the second member; the run stops there
// (first member upgraded, second rolled back, primary untouched). Second run,
// fault removed, typed into the primary's console in `fast` mode (no
// `cluster check` between nodes): the first member is skipped, the second
// upgraded, the primary last; `cluster check` is green and every node runs
// 1.0.1.

import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempHome, withoutCI } from '../support/daemon.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { startListeners, type Listeners } from '../support/netns.js';
import { buildRelease, installRelease, makeKey, releaseWithStartFault, stopByPidFile } from '../support/releases.js';
import { until } from '../support/until.js';
import { openConsole } from '../journeys/console.js';

type Name = 'primary' | 'db' | 'web';
const NAMES: Name[] = ['primary', 'db', 'web'];
const work = tempHome('ps-cupg-');
const files = join(work, 'files');
const productOf = (name: Name) => join(work, name, 'product');
const FAULT = 'fail-next-release';
let cluster: TestCluster<Name> | undefined;
let database: Listeners | undefined;

/** `cluster upgrade` on the primary: several nodes restart one after the other, which takes minutes on a busy host. */
const upgrade = () => cluster!.daemons.primary.platform(['--yes', 'cluster', 'upgrade', `file://${files}/platform-1.0.1.psup`], { timeoutMs: 300_000 });
const upgradeStatus = async () => (await cluster!.json('primary', ['cluster', 'upgrade', 'status'])).lastRun;
const byName = (run: { nodes: { hostname: string }[] }) => Object.fromEntries(run.nodes.map((n) => [n.hostname.replace(/01$/, ''), n])) as unknown as Record<Name, { state: string; version: string | null; reason: string | null }>;

beforeAll(async () => {
  mkdirSync(files, { recursive: true });
  const key = makeKey(work);
  const first = await buildRelease(files, '1.0.0', key);
  await releaseWithStartFault(first, join(files, 'platform-1.0.1.psup'), key, { version: '1.0.1', fault: FAULT });
  for (const name of NAMES) await installRelease(productOf(name), first, key);
  cluster = await startCluster<Name>({
    prefix: `pscu${process.pid % 10000}`,
    net: '10.250.131',
    roles: { primary: 'application', db: 'database', web: 'webproxy' },
    program: (name) => join(productOf(name), 'current', 'bin', 'platformd.js'),
    env: withoutCI({ PLATFORM_UPGRADE_GATE_SECONDS: '40' }),
    args: ['--web-port', '443', '--http-port', '80'],
  });
  // No MongoDB here: plain listeners stand in on its ports, for `cluster check`.
  database = await startListeners(cluster.lan.hosts.db!.ns, ['27017/tcp', '27019/tcp', '27020/tcp', '27030/tcp']);
}, 300_000);

afterAll(async () => {
  database?.stop();
  if (!cluster) return;
  for (const name of NAMES) await stopByPidFile(cluster.daemons[name].home);
  await cluster.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('cluster upgrade', () => {
  it('stops at the first failure: the database node upgraded, the web proxy rolled back by its gate, the primary untouched', async () => {
    writeFileSync(join(cluster!.daemons.web.home, FAULT), '');
    const answer = await upgrade();
    expect(answer.status, answer.stdout + answer.stderr).toBe(1);
    expect(answer.stdout).toMatch(/run "cluster upgrade" again/);
    // Serial (the default): the database node passed `cluster check` before the run went on.
    expect(answer.stderr).toMatch(/db01[^\n]*: cluster check green/);
    const run = await upgradeStatus();
    expect(run).toMatchObject({ release: '1.0.1', result: 'failed', stoppedAt: cluster!.address('web') });
    const nodes = byName(run);
    expect(nodes.db).toMatchObject({ state: 'upgraded', version: '1.0.1' });
    expect(nodes.web).toMatchObject({ state: 'failed', version: '1.0.0' });
    expect(nodes.web.reason).toMatch(/platformd exited during start/);
    expect(nodes.primary).toMatchObject({ state: 'not reached', version: '1.0.0' });
    expect(readlinkSync(join(productOf('web'), 'current'))).toBe('releases/1.0.0');
    expect(readlinkSync(join(productOf('primary'), 'current'))).toBe('releases/1.0.0');
    // The failed node serves again on its old release, out of maintenance mode; the handed-over file is gone.
    const maintenance = await cluster!.json('primary', ['cluster', 'maintenance-mode', 'status']);
    expect(maintenance.every((n: { maintenanceMode: boolean }) => n.maintenanceMode === false)).toBe(true);
    for (const name of ['db', 'web'] as const) {
      const incoming = join(cluster!.daemons[name].home, 'run', 'cluster-release');
      expect(existsSync(incoming) ? readdirSync(incoming) : []).toEqual([]);
    }
  }, 360_000);

  it('run again once fixed, from the console in fast mode: the upgraded node is skipped, the rest upgraded, the primary last; cluster check is green', async () => {
    rmSync(join(cluster!.daemons.web.home, FAULT));
    const session = await openConsole(cluster!.daemons.primary.home, 'primary01', { netns: cluster!.lan.hosts.primary!.ns, env: withoutCI() });
    let screen = '';
    try {
      const question = await session.type(`cluster upgrade file://${files}/platform-1.0.1.psup fast`, '[y/N]', { question: true });
      expect(question).toMatch(/Upgrade every node of the cluster to the release at file:\/\/.*platform-1\.0\.1\.psup\? One node at a time, the primary last/);
      const mark = session.terminal.screen().length;
      session.terminal.write('y\r');
      await session.terminal.waitFor('the primary is switching', { from: mark, timeout: 300_000 });
      screen = session.terminal.screen().slice(mark).replace(/\r/g, '');
    } finally {
      await session.close();
    }
    expect(screen).toMatch(/web01[^\n]*: back on 1\.0\.1/);
    expect(screen).not.toMatch(/cluster check green/);
    const run = await until(
      'the primary to come back on 1.0.1',
      async () => {
        const r = await cluster!.on('primary', ['--json', 'cluster', 'upgrade', 'status']).catch(() => undefined);
        const parsed = r?.status === 0 ? JSON.parse(r.stdout).lastRun : undefined;
        return parsed && parsed.result !== 'switching' && parsed;
      },
      120_000,
      500,
    );
    expect(run.result).toBe('upgraded');
    const nodes = byName(run);
    expect(nodes.db).toMatchObject({ state: 'skipped', version: '1.0.1' });
    expect(nodes.web).toMatchObject({ state: 'upgraded', version: '1.0.1' });
    expect(nodes.primary).toMatchObject({ state: 'upgraded', version: '1.0.1' });
    for (const name of NAMES) expect(readlinkSync(join(productOf(name), 'current'))).toBe('releases/1.0.1');
    const check = await cluster!.on('primary', ['cluster', 'check']);
    expect(check.status, check.stdout).toBe(0);
    const maintenance = await until('maintenance mode off everywhere', async () => {
      const m = await cluster!.json('primary', ['cluster', 'maintenance-mode', 'status']);
      return m.every((n: { maintenanceMode: boolean }) => n.maintenanceMode === false) && m;
    }, 20_000);
    expect(maintenance).toHaveLength(3);
  }, 360_000);
});
