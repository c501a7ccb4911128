// Scheduled jobs: the console's commands on a real daemon, and the runner
// driven by an injected clock over a real store and the daemon's own
// executor: a job fires when due, with its owner's rights, is audited,
// runs once for many missed due times, and is skipped (and logged as
// skipped) in maintenance mode.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../store/db.js';
import { pathsFor } from '../../core/paths.js';
import { writeNode } from '../../store/node.js';
import { issueTokens } from '../../users/tokens.js';
import { scheduleRunner } from '../../daemon/schedule.js';
import type { Runtime } from '../../core/runtime.js';
import { latestDue } from '../../schedule/timing.js';
import { startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

describe('schedule commands', () => {
  let node: RunningDaemon;
  beforeAll(async () => {
    node = await startDaemon();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('adds, times, lists, disables and deletes jobs; refuses bad times', async () => {
    const p = (...words: string[]) => node.platform(words);
    const added = await p('schedule', 'add', 'nightly', 'backup', 'create', 'offsite');
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toContain('daily at 00:00');
    expect((await p('schedule', 'add', 'nightly', 'health')).status).toBe(2);
    expect((await p('schedule', 'time', 'nightly', '2', '30')).stdout).toContain('daily at 02:30');
    expect((await p('schedule', 'time', 'nightly', 'every', '6', 'hours')).stdout).toContain('every 6 hours');
    expect((await p('schedule', 'time', 'nightly', 'weekly', '3')).stdout).toContain('Wednesday');
    for (const bad of [['25', '0'], ['1', '60'], ['every', '0', 'hours'], ['weekly', '7'], ['sometime']]) {
      const result = await p('schedule', 'time', 'nightly', ...bad);
      expect(result.status, bad.join(' ')).toBe(2);
    }
    const listed = await p('schedule', 'list');
    expect(listed.stdout).toMatch(/nightly\s+backup create offsite\s+platform|root/);
    expect((await p('schedule', 'disable', 'nightly')).status).toBe(0);
    expect((await p('schedule', 'list')).stdout).toMatch(/nightly.*\bno\b/);
    expect((await p('schedule', 'log', 'nightly')).stdout).toContain('has not run yet');
    expect((await p('schedule', 'del', 'nightly')).status).toBe(0);
    expect((await p('schedule', 'del', 'nightly')).status).toBe(2);
  });
});

describe('the runner', () => {
  const home = tempHome('ps-schedule-');
  const paths = pathsFor(home);
  const store = Store.open(paths.database);
  let now = new Date('2026-03-02T09:00:00Z');
  const logs: string[] = [];
  const runtime: Runtime = {
    store,
    paths,
    options: { home, firewall: 'plan', appliance: false, clusterPort: 8443, webPorts: { https: 9443, http: 9080 } },
    services: {},
    log: (_level, message) => logs.push(message),
  } as Runtime;
  const runner = scheduleRunner(runtime, () => now);

  beforeAll(async () => {
    writeNode(store, { hostname: 'n1', roles: ['application'], ntp: [], dns: [], dataCentre: 'dc', maintenance: false });
    store.users.add('joe', now.toISOString());
    store.users.add('ann', now.toISOString());
    store.users.grant('joe', 'network');
    await issueTokens(paths, ['joe', 'ann']);
    store.schedule.add({ name: 'proxy', owner: 'joe', words: ['network', 'ntp', 'add', '10.0.0.123'], timing: { kind: 'hours', every: 1 }, enabled: true, createdAt: now.toISOString() });
    store.schedule.add({ name: 'sneaky', owner: 'ann', words: ['network', 'ntp', 'add', '10.6.6.6'], timing: { kind: 'hours', every: 1 }, enabled: true, createdAt: now.toISOString() });
  });
  afterAll(() => store.close());

  it('does nothing before a job is due', async () => {
    now = new Date('2026-03-02T09:30:00Z');
    await runner.tick();
    expect(store.schedule.runs('proxy')).toEqual([]);
  });

  it("fires when due, with its owner's rights, audited", async () => {
    now = new Date('2026-03-02T10:00:05Z');
    await runner.tick();
    const [run] = store.schedule.runs('proxy');
    expect(run).toMatchObject({ outcome: 'ok', exitStatus: 0, due: '2026-03-02T10:00:00.000Z' });
    expect(store.settings.get('node')?.ntp).toEqual(['10.0.0.123']);
    const [refused] = store.schedule.runs('sneaky');
    expect(refused).toMatchObject({ outcome: 'failed', exitStatus: 1 });
    expect(refused!.output).toContain('no right');
    expect(store.settings.get('node')?.ntp).not.toContain('10.6.6.6');
    const audit = store.audit.recent({ limit: 10 });
    expect(audit.some((a) => a.user === 'joe' && a.words.startsWith('network ntp add') && a.outcome === 'ok')).toBe(true);
    expect(audit.some((a) => a.user === 'ann' && a.outcome === 'refused')).toBe(true);
    // The same due time never runs twice.
    await runner.tick();
    expect(store.schedule.runs('proxy')).toHaveLength(1);
  });

  it('runs once for many due times missed while the daemon was down', async () => {
    now = new Date('2026-03-02T17:20:00Z');
    await runner.tick();
    const runs = store.schedule.runs('proxy');
    expect(runs).toHaveLength(2);
    expect(runs[0]!.due).toBe('2026-03-02T17:00:00.000Z');
  });

  it('is skipped, and logged as skipped, in maintenance mode', async () => {
    writeNode(store, { hostname: 'n1', roles: ['application'], ntp: [], dns: [], dataCentre: 'dc', maintenance: true });
    now = new Date('2026-03-02T18:00:01Z');
    await runner.tick();
    const [skipped] = store.schedule.runs('proxy');
    expect(skipped).toMatchObject({ outcome: 'skipped', due: '2026-03-02T18:00:00.000Z' });
    expect(store.settings.get('node')?.ntp).toEqual([]);
    expect(store.audit.recent({ limit: 5 }).some((a) => a.message?.includes('skipped: maintenance mode'))).toBe(true);
  });

  it('walks due times with croner', () => {
    expect(latestDue({ kind: 'weekly', day: 0 }, new Date('2026-03-01T00:00:00Z'), new Date('2026-03-20T12:00:00Z'))?.getDay()).toBe(0);
    expect(latestDue({ kind: 'daily', hour: 2, minute: 30 }, new Date('2026-03-02T03:00:00'), new Date('2026-03-03T02:29:00'))).toBeUndefined();
  });
});
