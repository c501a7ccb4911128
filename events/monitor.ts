// Watches the node's conditions (status/conditions.ts, plus what the daemon
// adds: cluster members not responding) and raises an event when one starts
// and `<name>-cleared` (info) when it ends. The conditions that hold are kept
// in the store, so a daemon restart does not raise them again.

import type { Store } from '../store/db.js';
import type { ActiveCondition } from '../store/settings.js';
import type { NodeEvent } from './catalog.js';

// The conditions that hold are a setting of the store ('events.active'), whose table declares their shape.

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
    const before = new Map(this.store.settings.get('events.active').map((c) => [c.key, c]));
    const after = new Map(now.map((c) => [c.key, c]));
    // One transaction: the events and the conditions they came from are saved together.
    this.store.tx(() => {
      for (const [key, condition] of after) if (!before.has(key)) this.raise({ name: condition.name, level: condition.level, text: condition.text });
      for (const [key, condition] of before) if (!after.has(key)) this.raise({ name: `${condition.name}-cleared`, level: 'info', text: `no longer: ${condition.text}` });
      this.store.settings.set('events.active', now);
    });
  }
}
