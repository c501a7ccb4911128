// Every event the node raises, by its stable name: its level and what it
// means. Names are what an SNMP manager or a mail filter matches on, so they
// never change once shipped; the text says the particulars.

import type { EventLevel } from '../store/events.js';

export interface EventKind {
  level: EventLevel;
  summary: string;
  /** A condition holds for a while (raised when it starts, `<name>-cleared` at info when it ends); otherwise a one-off. */
  condition?: boolean;
}

export const EVENT_KINDS = {
  'web-cert-expiring': { level: 'warn', condition: true, summary: 'the web certificate expires within 30 days' },
  'web-cert-expired': { level: 'error', condition: true, summary: 'the web certificate has expired' },
  'web-cert-name-mismatch': { level: 'warn', condition: true, summary: "the CA-signed web certificate does not cover the node's network name" },
  'disk-low': { level: 'warn', condition: true, summary: 'a file system is below its free-space threshold' },
  'load-high': { level: 'warn', condition: true, summary: 'the load average is above the number of cores' },
  'memory-low': { level: 'warn', condition: true, summary: 'available memory is below its threshold' },
  'service-down': { level: 'warn', condition: true, summary: 'a service of the node\'s roles is not running' },
  'account-locked': { level: 'warn', condition: true, summary: 'a console account is locked by failed logins' },
  'cluster-node-down': { level: 'error', condition: true, summary: 'a cluster member does not respond (raised on the primary)' },
  'security-updates': { level: 'warn', condition: true, summary: 'OS security updates are pending from the update source (the last `security check`)' },
  'reboot-required': { level: 'warn', condition: true, summary: 'an installed update runs only after a reboot (/run/reboot-required)' },
  'maintenance-mode': { level: 'info', condition: true, summary: 'the node is in maintenance mode' },
  'store-invalid': { level: 'error', summary: 'the config store holds what this product does not write: platformd runs recovery commands only' },
  'app-stopped': { level: 'error', summary: 'an application stopped without being told to' },
  'firewall-rolled-back': { level: 'warn', summary: 'a firewall change was rolled back (not confirmed in time)' },
  'notify-test': { level: 'info', summary: 'a test notification (notify test); its level is the one asked for' },
  'config-value-skipped': { level: 'error', summary: 'a generated configuration (nginx, snmpd, sshd) left out a stored value that breaks its grammar; the rest is in service' },
  'release-rolled-back': { level: 'error', summary: 'an upgrade did not pass its health gate (or was interrupted): the node went back to the release it ran before' },
  'release-verification-failed': { level: 'error', condition: true, summary: "a release's files do not match its signed manifest: the node runs the previous release" },
  'notify-summary': { level: 'info', summary: 'notifications held back by the rate limit or maintenance mode, summarised' },
} as const satisfies Record<string, EventKind>;

export type EventName = keyof typeof EVENT_KINDS;

/** What subsystems raise: a stable name, a level and a text. */
export interface NodeEvent {
  name: string;
  level: EventLevel;
  text: string;
}

/** An event of the catalog with its usual level. */
export function eventOf(name: EventName, text: string, level: EventLevel = EVENT_KINDS[name].level): NodeEvent {
  return { name, level, text };
}

/** Names are lower-case words with dashes, at most 64 characters; texts one line of at most 1,000. */
export function checkEvent(event: NodeEvent): NodeEvent {
  if (!/^[a-z][a-z0-9-]{0,63}$/.test(event.name)) throw new Error(`bad event name "${event.name.slice(0, 80)}"`);
  if (!['info', 'warn', 'error'].includes(event.level)) throw new Error(`bad event level "${String(event.level).slice(0, 20)}"`);
  // One line, printable: it becomes a mail body line and an SNMP string.
  const text = event.text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 1000);
  return { name: event.name, level: event.level, text };
}
