// Delivers what the outbox holds. Per target, in order: nothing while the
// node is in maintenance mode (what was raised meanwhile goes as one summary
// after it); at most RATE_LIMIT messages a minute (a backlog larger than the
// minute's room goes as RATE_LIMIT-1 messages and one summary of the rest);
// a failed attempt keeps the message and retries with a growing pause. A row
// leaves the outbox only once the relay accepted it or the receiver
// acknowledged it, so a daemon restart loses nothing.

import { targetKey } from '../events/bus.js';
import { notifyTargets } from '../net/locations.js';
import { formatUri, redactUri, type NetworkUri } from '../net/uri.js';
import type { Store } from '../store/db.js';
import type { OutboxRow } from '../store/events.js';
import { MAIL_TIMEOUTS, Mailer, parseRelay } from './mail.js';
import { egressOf } from '../net/connector.js';
import { summaryOf, type Notification } from './message.js';
import { sendInform } from './trap.js';

/** The reference appliance's rate: at most this many messages a minute to one target. */
export const RATE_LIMIT = 20;
export const RATE_WINDOW_MS = 60_000;
/** Retries after 1, 2, 4 ... seconds, at most a minute apart. */
export const RETRY_FIRST_MS = 1000;
export const RETRY_MAX_MS = 60_000;
/** Looks at the outbox at least this often (maintenance mode ending, a relay set later). */
const SWEEP_MS = 2000;
/** One attempt on one target never takes longer than this. */
const ATTEMPT_TIMEOUT_MS = 30_000;

export interface DelivererDeps {
  store: Store;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  maintenance(): boolean;
  /** The node's name: in every message, and the mail sender's domain. */
  hostname(): string;
  /** `host[:port]` of the mail relay, if set. */
  relay(): string | undefined;
}

interface TargetState {
  sent: number[];
  failures: number;
  retryAt: number;
}

export type Sender = (target: NetworkUri, notification: Notification) => Promise<void>;

export class Deliverer {
  private readonly states = new Map<string, TargetState>();
  private readonly mailer: Mailer;
  /** Each target drains on its own, so a slow or absent receiver never delays another's messages. */
  private readonly draining = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Aborted at stop: an attempt in progress is abandoned, its message stays in the outbox for the next start. */
  private readonly abandon = new AbortController();
  /** Delivered messages since start (for status and benchmarks). */
  delivered = 0;

  constructor(private readonly deps: DelivererDeps) {
    this.mailer = new Mailer(() => deps.hostname(), MAIL_TIMEOUTS, () => egressOf(deps.store));
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), SWEEP_MS);
    this.timer.unref();
    this.kick();
  }

  /** Stops at once: attempts in progress are abandoned (never waited for: a relay may take 30 s to fail), and what they carried stays queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.abandon.abort(new Error('platformd is stopping'));
    this.mailer.close();
    await Promise.all(this.draining.values());
  }

  /** Drains every target with something queued: now, or right after its drain in progress. */
  kick(): void {
    if (this.stopped || this.deps.maintenance()) return;
    for (const target of this.deps.store.outbox.targets()) this.drain(target);
  }

  private drain(target: string): void {
    if (this.draining.has(target)) {
      this.again.add(target);
      return;
    }
    const run = this.drainTarget(target)
      .catch((error: Error) => this.deps.log('error', `notify: ${scrub(error.message)}`))
      .finally(() => {
        this.draining.delete(target);
        if (this.again.delete(target) && !this.stopped) this.drain(target);
      });
    this.draining.set(target, run);
  }

  /** Forgets every target's pause and tries at once: a relay was set or changed. */
  retryNow(): void {
    for (const state of this.states.values()) state.retryAt = 0;
    this.kick();
  }

  /** Resolves when the outbox is empty (or the timeout passes): for `notify test --wait` and tests. */
  async idle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.deps.store.outbox.pendingCount() === 0 && this.draining.size === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  private state(target: string): TargetState {
    let state = this.states.get(target);
    if (!state) this.states.set(target, (state = { sent: [], failures: 0, retryAt: 0 }));
    return state;
  }

  private async drainTarget(target: string): Promise<void> {
    if (this.deps.maintenance()) return;
    const state = this.state(target);
    if (Date.now() < state.retryAt) return;
    // The outbox holds the target's key; its URI (and secrets) comes from the sealed targets.
    const uri = notifyTargets(this.deps.store).find((t) => targetKey(formatUri(t.uri)) === target)?.uri;
    if (!uri) {
      const dropped = this.deps.store.outbox.dropTarget(target);
      if (dropped) this.deps.log('warn', `notify: ${dropped} messages dropped: their target was removed`);
      return;
    }
    const send = (n: Notification) => this.sendOne(uri, n);
    const node = this.deps.hostname();
    try {
      // What was raised in maintenance mode: one summary, now that it is over.
      const held = this.deps.store.outbox.summariseQueued(target, true);
      if (held.groups.length > 0 && this.room(state) > 0) {
        await send(summaryOf(node, held.groups, 'raised while the node was in maintenance mode'));
        this.sent(state);
        this.deps.store.outbox.removeSummarised(target, true, 0, held.lastId);
      }
      for (;;) {
        const room = this.room(state);
        if (room <= 0 || this.stopped) return;
        const waiting = this.deps.store.outbox.pendingCount(target);
        if (waiting === 0) return;
        const batch = this.deps.store.outbox.pendingFor(target, Math.min(room, 100)).filter((r) => r.held === 0);
        if (batch.length === 0) return;
        if (waiting > room && batch.length >= room) {
          // More than the minute allows: room-1 messages, then one summary of everything after them.
          for (const row of batch.slice(0, room - 1)) await this.deliverRow(uri, state, row);
          const from = batch[room - 1]!.id;
          const rest = this.deps.store.outbox.summariseQueued(target, false, from);
          await send(summaryOf(node, rest.groups, 'held back by the rate limit of 20 messages a minute'));
          this.sent(state);
          this.deps.store.outbox.removeSummarised(target, false, from, rest.lastId);
          continue;
        }
        for (const row of batch) await this.deliverRow(uri, state, row);
      }
    } catch (error) {
      if (this.stopped) {
        this.deps.log('info', `notify: delivery to ${redactUri(uri)} abandoned, platformd is stopping; ${this.deps.store.outbox.pendingCount(target)} messages stay in the outbox`);
        return;
      }
      state.failures++;
      state.retryAt = Date.now() + Math.min(RETRY_FIRST_MS * 2 ** (state.failures - 1), RETRY_MAX_MS);
      const message = scrub((error as Error).message, uri);
      const head = this.deps.store.outbox.pendingFor(target, 1);
      this.deps.store.outbox.recordFailure(head.map((r) => r.id), message);
      this.deps.log('warn', `notify: ${redactUri(uri)} not reached (${message}); ${this.deps.store.outbox.pendingCount(target)} waiting, next try in ${Math.round((state.retryAt - Date.now()) / 1000)} s`);
    }
  }

  private async deliverRow(uri: NetworkUri, state: TargetState, row: OutboxRow): Promise<void> {
    await this.sendOne(uri, { node: this.deps.hostname(), level: row.level, event: row.name, text: row.text, at: row.at });
    this.sent(state);
    this.deps.store.outbox.remove([row.id]);
  }

  private room(state: TargetState): number {
    const since = Date.now() - RATE_WINDOW_MS;
    state.sent = state.sent.filter((t) => t > since);
    return RATE_LIMIT - state.sent.length;
  }

  private sent(state: TargetState): void {
    state.sent.push(Date.now());
    state.failures = 0;
    this.delivered++;
  }

  /** One attempt, bounded by ATTEMPT_TIMEOUT_MS and abandoned at once when the deliverer stops. */
  private async sendOne(uri: NetworkUri, n: Notification): Promise<void> {
    const signal = AbortSignal.any([this.abandon.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]);
    const ended = new Promise<never>((_, reject) => {
      const end = () => reject(this.abandon.signal.aborted ? this.abandon.signal.reason : new Error(`no answer in ${ATTEMPT_TIMEOUT_MS / 1000} s`));
      if (signal.aborted) end();
      signal.addEventListener('abort', end, { once: true });
    });
    ended.catch(() => undefined); // settled by the race below, or after it, unobserved
    await Promise.race([this.transmit(uri, n, signal), ended]);
  }

  private async transmit(uri: NetworkUri, n: Notification, signal: AbortSignal): Promise<void> {
    if (uri.scheme === 'snmp') return sendInform(uri, n, signal);
    if (uri.scheme === 'mailto') {
      const relay = this.deps.relay();
      if (!relay) throw new Error('no mail relay is set (notify emailrelay <host>[:<port>])');
      return this.mailer.send(parseRelay(relay), `${uri.user}@${uri.host}`, n);
    }
    throw new Error(`${uri.scheme} URIs are not notification targets`);
  }
}

/** An error from a peer, fit for a log line: one line, bounded, no secret of the target. */
export function scrub(message: string, uri?: NetworkUri): string {
  let text = String(message).replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 300);
  for (const secret of [uri?.password, uri?.community, uri?.privPassword]) if (secret) text = text.split(secret).join('***');
  return text;
}
