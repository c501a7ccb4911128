// The conditions monitor against a real store and a clock the test moves: a
// condition counts only once it has held for the grace period, a restart
// compares with what the store held before it, and "cleared" comes only
// when a condition has really ended.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ConditionMonitor } from '../../events/monitor.js';
import type { NodeEvent } from '../../events/catalog.js';
import { Store } from '../../store/db.js';
import type { ActiveCondition } from '../../store/settings.js';
import { tempHome } from '../support/daemon.js';

const GRACE_MS = 20_000;
const down = (service: string): ActiveCondition => ({ key: `service-down:${service}`, name: 'service-down', level: 'warn', text: `APPLICATION: ${service.toUpperCase()} DOWN` });

let store: Store;
let clock: number;
let sampled: ActiveCondition[];
let raised: NodeEvent[];
const monitors: ConditionMonitor[] = [];

/** A monitor as a daemon start makes one: same store, fresh memory. */
function restart(): ConditionMonitor {
  const monitor = new ConditionMonitor(store, async () => sampled, (e) => raised.push(e), () => undefined, { graceMs: GRACE_MS, now: () => clock });
  monitors.push(monitor);
  return monitor;
}

beforeEach(() => {
  store = Store.open(join(tempHome(), 'config.db'));
  clock = 1_000_000;
  sampled = [];
  raised = [];
});
afterEach(() => {
  for (const m of monitors.splice(0)) m.stop();
  store.close();
});

describe('the conditions monitor', () => {
  it('raises nothing for services that come up within the grace period after start', async () => {
    const monitor = restart();
    sampled = [down('http'), down('https'), down('cluster')];
    await monitor.check();
    clock += 5_000;
    sampled = [];
    await monitor.check();
    clock += GRACE_MS;
    await monitor.check();
    expect(raised).toEqual([]);
    expect(store.settings.get('events.active')).toEqual([]);
  });

  it('raises a condition that held for the grace period, once', async () => {
    const monitor = restart();
    sampled = [down('database')];
    await monitor.check();
    clock += GRACE_MS - 1;
    await monitor.check();
    expect(raised).toEqual([]);
    clock += 1;
    await monitor.check();
    clock += 60_000;
    await monitor.check();
    expect(raised).toEqual([{ name: 'service-down', level: 'warn', text: 'APPLICATION: DATABASE DOWN' }]);
  });

  it('after a restart, neither raises again nor clears what still holds, whatever the first samples show', async () => {
    let monitor = restart();
    sampled = [down('database')];
    await monitor.check();
    clock += GRACE_MS;
    await monitor.check();
    expect(raised).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      monitor.stop();
      monitor = restart();
      // Coming up: everything looks down at first, then only what really is.
      sampled = [down('http'), down('https'), down('cluster'), down('database')];
      await monitor.check();
      clock += 70;
      sampled = [down('database')];
      await monitor.check();
      clock += GRACE_MS;
      await monitor.check();
    }
    expect(raised).toHaveLength(1);
    expect(store.settings.get('events.active').map((c) => c.key)).toEqual(['service-down:database']);
  });

  it('clears a condition only once it has been gone for the grace period, and only that one', async () => {
    const monitor = restart();
    sampled = [down('https'), down('database')];
    await monitor.check();
    clock += GRACE_MS;
    await monitor.check();
    raised = [];
    // A sample that misses a condition for a moment clears nothing.
    sampled = [down('database')];
    await monitor.check();
    clock += 1_000;
    sampled = [down('https'), down('database')];
    await monitor.check();
    clock += GRACE_MS;
    await monitor.check();
    expect(raised).toEqual([]);
    // https comes back for good: its own condition clears, the database's stays.
    sampled = [down('database')];
    await monitor.check();
    clock += GRACE_MS;
    await monitor.check();
    expect(raised).toEqual([{ name: 'service-down-cleared', level: 'info', text: 'no longer: APPLICATION: HTTPS DOWN' }]);
    expect(store.settings.get('events.active').map((c) => c.key)).toEqual(['service-down:database']);
  });
});
