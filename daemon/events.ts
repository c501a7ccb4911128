// Wires the node's events into platformd: the bus (services.events.raise),
// the outbox deliverer (services.notify) and the conditions monitor, which
// samples the banner's facts (and, on the primary, whether every cluster
// member answers) and raises what starts or ends. Started last, so that it
// samples a node whose subsystems are all up.

import { hostname as osHostname } from 'node:os';
import { EventBus } from '../events/bus.js';
import type { NodeEvent } from '../events/catalog.js';
import { ConditionMonitor } from '../events/monitor.js';
import { type ActiveCondition } from '../store/settings.js';
import { Deliverer } from '../notify/outbox.js';
import { conditionsOf } from '../status/conditions.js';
import { gatherFacts } from '../status/facts.js';
import type { RecordedEvent } from '../store/events.js';
import { nodeOrDefault } from '../store/node.js';
import type { Runtime, Subsystem } from '../core/runtime.js';

declare module '../core/context.js' {
  interface Services {
    /** Raise one of the node's events (events/catalog.ts): mailbox, outbox, log. */
    events?: { raise(event: NodeEvent): RecordedEvent };
    notify?: Deliverer;
    /** Samples the node's conditions now (after a change that should show at once). */
    checkConditions?: () => Promise<void>;
  }
}

/** How often the conditions are sampled. */
export const MONITOR_INTERVAL_MS = Number(process.env.PLATFORM_EVENTS_INTERVAL_MS) || 60_000;
/** How long a condition must hold before it is raised or cleared: the time services get to start (events/monitor.ts). */
export const MONITOR_GRACE_MS = Number(process.env.PLATFORM_EVENTS_GRACE_MS) || 20_000;

async function clusterConditions(runtime: Runtime): Promise<ActiveCondition[]> {
  const cluster = runtime.services.cluster;
  if (!cluster || cluster.inventory().length === 0 || !cluster.isPrimary()) return [];
  const self = cluster.self().address;
  const members = (await cluster.status()).filter((n) => n.address !== self && !n.responding);
  return members.map((n) => ({ key: `cluster-node-down:${n.address}`, name: 'cluster-node-down', level: 'error', text: `CLUSTER NODE ${n.hostname.toUpperCase()} (${n.address}) NOT RESPONDING` }));
}

/**
 * The bus comes up first, so that a subsystem starting before the events
 * (the web front end, the SNMP agent) can already raise one; what it queues
 * is delivered once the deliverer starts.
 */
export const eventBusSubsystem: Subsystem = {
  name: 'event bus',
  async start(runtime) {
    const { store } = runtime;
    const node = () => nodeOrDefault(store, osHostname());
    runtime.services.events = new EventBus({ store, log: runtime.log, maintenance: () => node().maintenance, queued: () => runtime.services.notify?.kick() });
  },
};

export const eventsSubsystem: Subsystem = {
  name: 'events',
  async start(runtime) {
    const { store } = runtime;
    const node = () => nodeOrDefault(store, osHostname());
    const bus = runtime.services.events!;
    const deliverer = new Deliverer({
      store,
      log: runtime.log,
      maintenance: () => node().maintenance,
      hostname: () => node().hostname,
      relay: () => store.settings.get('notify.emailrelay'),
    });
    runtime.services.notify = deliverer;
    const monitor = new ConditionMonitor(
      store,
      async () => {
        const facts = await gatherFacts(store, runtime.paths, runtime.services);
        const local: ActiveCondition[] = conditionsOf(facts, new Date()).map(({ key, name, level, text }) => ({ key, name, level, text }));
        return [...local, ...(await clusterConditions(runtime).catch(() => []))];
      },
      (event) => bus.raise(event),
      runtime.log,
      { graceMs: MONITOR_GRACE_MS },
    );
    runtime.services.checkConditions = () => monitor.check();
    deliverer.start();
    monitor.start(MONITOR_INTERVAL_MS);
    return async () => {
      monitor.stop();
      await deliverer.stop();
    };
  },
};
