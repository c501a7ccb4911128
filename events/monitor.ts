// Watches the node's conditions (status/conditions.ts, plus what the daemon
// adds: cluster members not responding) and raises an event when one starts
// and `<name>-cleared` (info) when it ends. The conditions that hold are kept
// in the store, so a daemon restart does not raise them again.
//
// A change counts only once it has held for a grace period: a condition
// must be seen that long before it is raised, and gone that long before it
// is cleared. So services get their time to start (after the daemon starts,
// or after they are started themselves), and a sample taken while the node
// is still coming up raises nothing and clears nothing.

import type { Store } from '../store/db.js';
import type { ActiveCondition } from '../store/settings.js';
import type { NodeEvent } from './catalog.js';

// The conditions that hold are a setting of the store ('events.active'), whose table declares their shape.

export interface MonitorTiming {
  /** How long a condition must hold (or be gone) before it is raised (or cleared). */
  graceMs: number;
  /** The clock (a test gives its own). */
  now?: () => number;
}

export class ConditionMonitor {
  private timer?: NodeJS.Timeout;
  private recheck?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Changes seen but not yet held for the grace period: key → when first seen. */
  private readonly changing = new Map<string, number>();
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly sample: () => Promise<ActiveCondition[]>,
    private readonly raise: (event: NodeEvent) => void,
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void,
    private readonly timing: MonitorTiming,
  ) {
    this.now = timing.now ?? Date.now;
  }

  /** Samples now and every `intervalMs`. */
  start(intervalMs: number): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.recheck);
  }

  /** One look; overlapping calls share the look in progress. */
  check(): Promise<void> {
    this.running ??= this.checkNow()
      .catch((error: Error) => this.log('error', `events monitor: ${error.message}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Whether a change seen now has held long enough to count. */
  private held(key: string, now: number): boolean {
    const since = this.changing.get(key) ?? now;
    this.changing.set(key, since);
    if (now - since < this.timing.graceMs) return false;
    this.changing.delete(key);
    return true;
  }

  private async checkNow(): Promise<void> {
    const seen = new Map((await this.sample()).map((c) => [c.key, c]));
    const now = this.now();
    const before = new Map(this.store.settings.get('events.active').map((c) => [c.key, c]));
    // A change that reverted before its grace ended is forgotten: it never counted.
    for (const key of [...this.changing.keys()]) if (seen.has(key) === before.has(key)) this.changing.delete(key);
    const started = [...seen.values()].filter((c) => !before.has(c.key) && this.held(c.key, now));
    const ended = [...before.values()].filter((c) => !seen.has(c.key) && this.held(c.key, now));
    if (started.length || ended.length) {
      const endedKeys = new Set(ended.map((c) => c.key));
      const active = [...before.values()].filter((c) => !endedKeys.has(c.key)).map((c) => seen.get(c.key) ?? c);
      // One transaction: the events and the conditions they came from are saved together.
      this.store.tx(() => {
        for (const condition of started) this.raise({ name: condition.name, level: condition.level, text: condition.text });
        for (const condition of ended) this.raise({ name: `${condition.name}-cleared`, level: 'info', text: `no longer: ${condition.text}` });
        this.store.settings.set('events.active', [...active, ...started]);
      });
    }
    this.lookAgainWhenHeld(now);
  }

  /** A change waiting for its grace to end is looked at again then, not at the next interval. */
  private lookAgainWhenHeld(now: number): void {
    clearTimeout(this.recheck);
    if (this.changing.size === 0) return;
    const due = Math.min(...this.changing.values()) + this.timing.graceMs;
    this.recheck = setTimeout(() => void this.check(), Math.max(0, due - now) + 10);
    this.recheck.unref();
  }
}
