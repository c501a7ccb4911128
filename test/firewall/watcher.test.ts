// The firewall's watcher, with the clock and the listening sockets in the
// test's hands (plan mode: nothing reaches the kernel). A reconcile reads the
// sockets again when it runs, which may be later than the look that asked
// for it; the watcher must then compare the node with what that reconcile
// saw. Here a database restarts in between: the look sees 27017 listening,
// the reconcile (a moment later) sees it gone, and every look after sees it
// listening again. The port must end up open.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Runtime } from '../../core/runtime.js';
import { pathsFor } from '../../core/paths.js';
import { Store } from '../../store/db.js';
import { writeNode } from '../../store/node.js';
import { FirewallService, WATCH_INTERVAL_MS } from '../../firewall/service.js';
import { tempHome } from '../support/daemon.js';

const SSH = '22/tcp';
const DATABASE = '27017/tcp';

let store: Store;
let firewall: FirewallService;
/** What each read of the sockets answers: the next scripted answer, else `now`. */
let script: string[][];
let now: string[];

beforeEach(() => {
  vi.useFakeTimers();
  const home = tempHome('ps-fw-watch-');
  const paths = pathsFor(home);
  store = Store.open(paths.database);
  writeNode(store, { hostname: 'db1', roles: ['database'], ntp: [], dns: [], dataCentre: 'dc1', maintenance: false });
  const runtime = {
    store,
    paths,
    options: { home, firewall: 'plan', appliance: false, clusterPort: 8443, webPorts: { https: 9443, http: 9080 } },
    services: {},
    log: () => undefined,
  } as Runtime;
  script = [];
  now = [SSH];
  firewall = new FirewallService(runtime, () => new Set(script.shift() ?? now));
});

afterEach(() => {
  firewall.stop();
  store.close();
  vi.useRealTimers();
});

const opens27017 = () => /dport 27017\b/.test(firewall.ruleset());

describe('the firewall watcher', () => {
  it('opens a port that was listening at its look, gone when the reconcile ran, and back since', async () => {
    firewall.start();
    await vi.advanceTimersByTimeAsync(WATCH_INTERVAL_MS);
    expect(firewall.ruleset()).toContain('chain input');
    expect(opens27017()).toBe(false);

    // The next look sees the database; the reconcile it starts reads the sockets mid-restart.
    now = [SSH, DATABASE];
    script = [[SSH, DATABASE], [SSH]];
    await vi.advanceTimersByTimeAsync(WATCH_INTERVAL_MS);
    expect(opens27017()).toBe(false);

    // From here on every look sees it listening: the watcher must reconcile again.
    await vi.advanceTimersByTimeAsync(4 * WATCH_INTERVAL_MS);
    expect(opens27017()).toBe(true);
  });

  it('closes a port that stopped listening, and opens it when it is back', async () => {
    now = [SSH, DATABASE];
    firewall.start();
    await vi.advanceTimersByTimeAsync(WATCH_INTERVAL_MS);
    expect(opens27017()).toBe(true);
    now = [SSH];
    await vi.advanceTimersByTimeAsync(WATCH_INTERVAL_MS);
    expect(opens27017()).toBe(false);
    now = [SSH, DATABASE];
    await vi.advanceTimersByTimeAsync(WATCH_INTERVAL_MS);
    expect(opens27017()).toBe(true);
  });
});
