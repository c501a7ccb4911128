// What a configuration generator (nginx, snmpd, sshd) leaves out. Each
// generator checks every value again as it writes it: a restored store or a
// hand-edited row reaches it as well as a command does. A value that breaks
// the generator's grammar is skipped, the rest of the configuration is still
// written, and the daemon says what it skipped (an event and a log line).

import type { Runtime } from './runtime.js';

/** One value left out of a generated file. */
export interface SkippedValue {
  /** What the value was for: `upstream server`, `community name`, `Banner path`. */
  what: string;
  /** The value as shown to people: escaped and bounded by `shown`, or `***` for a secret. */
  value: string;
  why: string;
}

/** A value fit for a log line or an event: one line, printable, at most 80 characters. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const visible = text.replace(/[^\x20-\x7e]/g, (ch) => `\\x${(ch.codePointAt(0)! & 0xff).toString(16).padStart(2, '0')}`);
  return JSON.stringify(visible.length > 80 ? `${visible.slice(0, 77)}...` : visible);
}

/** The event's name in events/catalog.ts. */
export const SKIPPED_EVENT = 'config-value-skipped';

/** The event a generator raises for what it skipped (one event per generation that skipped anything). */
export function skippedEvent(generator: string, skipped: readonly SkippedValue[]): { name: string; level: 'error'; text: string } {
  const list = skipped.map((s) => `${s.what} ${s.value} (${s.why})`).join('; ');
  return { name: SKIPPED_EVENT, level: 'error', text: `${generator}: left out of its configuration: ${list}` };
}

/** What each generator reported last: the same values skipped again are not raised again at every reload. */
const lastReported = new Map<string, string>();

/**
 * Raises what a generator skipped (the bus logs it too), or only logs it
 * where no bus runs (`platformd --install-ssh`). Once per change of what is
 * skipped, so a reload that skips the same row again stays quiet.
 */
export function reportSkipped(runtime: Pick<Runtime, 'services' | 'log'>, generator: string, skipped: readonly SkippedValue[]): void {
  const event = skipped.length > 0 ? skippedEvent(generator, skipped) : undefined;
  if (lastReported.get(generator) === (event?.text ?? '')) return;
  lastReported.set(generator, event?.text ?? '');
  if (!event) return;
  const events = runtime.services.events;
  if (events) events.raise(event);
  else runtime.log('error', event.text);
}
