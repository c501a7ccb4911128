// The one place the node's events are raised. A raise records the event,
// puts a warning or error in the local mailbox, and queues it in the outbox
// for every notification target whose level it reaches, all in one
// transaction; then the deliverer is woken. Subsystems call `raise` through
// the runtime's services (`services.events.raise(...)`).

import { createHash } from 'node:crypto';
import { notifyTargets } from '../net/locations.js';
import { formatUri } from '../net/uri.js';
import type { Store } from '../store/db.js';
import type { RecordedEvent } from '../store/events.js';
import { checkEvent, type NodeEvent } from './catalog.js';

export interface EventBusDeps {
  store: Store;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** True while the node is in maintenance mode: events are kept, sent summarised after. */
  maintenance(): boolean;
  /** Called after an event was queued for at least one target. */
  queued(): void;
}

/**
 * How the outbox names a target: a digest of its URI, never the URI, whose
 * secrets stay sealed in notify_targets; the deliverer finds the URI again
 * among the targets (a removed target's messages are dropped).
 */
export const targetKey = (uriText: string) => createHash('sha256').update(`platform-notify-target\0${uriText}`).digest('hex');

/** The targets as the outbox knows them: level and key. */
export const targetKeys = (store: Store) => notifyTargets(store).map((t) => ({ level: t.level, uri: targetKey(formatUri(t.uri)) }));

export class EventBus {
  constructor(private readonly deps: EventBusDeps) {}

  raise(event: NodeEvent): RecordedEvent {
    const checked = checkEvent(event);
    const { event: recorded, queued } = this.deps.store.events.record(checked, targetKeys(this.deps.store), this.deps.maintenance());
    this.deps.log(checked.level, `event ${checked.name}: ${checked.text}`);
    if (queued > 0) this.deps.queued();
    return recorded;
  }
}
