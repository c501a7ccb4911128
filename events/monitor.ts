// Watches the node's conditions (status/conditions.ts, plus what the daemon
// adds: cluster members not responding) and raises an event when one starts
// and `<name>-cleared` (info) when it ends. The conditions that hold are kept
// in the store, so a daemon restart does not raise them again.

import type { Store } from '../store/db.js';
import type { EventLevel } from '../store/events.js';
import type { NodeEvent } from './catalog.js';

export interface ActiveCondition {
  key: string;
  name: string;
  level: EventLevel;
  text: string;
}

const KEY = 'events.active';

export class ConditionMonitor {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly store: Store,
    private readonly sample: () => Promise<ActiveCondition[]>,
    private readonly raise: (event: NodeEvent) => void,
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void,
  ) {}

  /** Samples now and every `intervalMs`. */
  start(intervalMs: number): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One look; overlapping calls share the look in progress. */
  check(): Promise<void> {
    this.running ??= this.checkNow()
      .catch((error: Error) => this.log('error', `events monitor: ${error.message}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkNow(): Promise<void> {
    const now = await this.sample();
    const before = new Map((this.store.get<ActiveCondition[]>(KEY) ?? []).map((c) => [c.key, c]));
    const after = new Map(now.map((c) => [c.key, c]));
    // One transaction: the events and the conditions they came from are saved together.
    this.store.tx(() => {
      for (const [key, condition] of after) if (!before.has(key)) this.raise({ name: condition.name, level: condition.level, text: condition.text });
      for (const [key, condition] of before) if (!after.has(key)) this.raise({ name: `${condition.name}-cleared`, level: 'info', text: `no longer: ${condition.text}` });
      this.store.set(KEY, now);
    });
  }
}
