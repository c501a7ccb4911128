// The node's warnings as conditions: a pure function from the banner's facts
// and a clock. The banner draws their lines and the events monitor raises
// them as events when they start (and `-cleared` when they end), so a
// warning on the banner and a notification always come from the same rule.

import { expiryWarningStart } from '../certs/expiry.js';
import type { EventName } from '../events/catalog.js';
import type { EventLevel } from '../store/events.js';
import { formatTime } from '../core/time.js';

/** What the node knows about itself: the banner and the conditions are both drawn from these. */
export interface StatusFacts {
  hostname: string;
  roles: string[];
  load: number;
  cpus: number;
  /** Seconds since boot. */
  uptime: number;
  /** Minutes east of UTC of the node's clock (0 on appliances). */
  utcOffsetMinutes: number;
  address: string;
  ntp: string[];
  healthMonitored: boolean;
  /** What the last monitored health check found wrong (empty: nothing). */
  healthProblems?: string[];
  /** Bytes used by the database (database roles only). */
  databaseBytes?: number;
  /** Installed services of the node's roles that should run but do not; empty = up. Undefined when the node runs no application. */
  applicationDown?: string[];
  /** Services of the node's roles that are not installed on it (not a warning: nothing to run). */
  notInstalled?: string[];
  certificate?: { notBefore: Date; notAfter: Date };
  /** The node's network name, when the CA-signed web certificate does not cover it. */
  webCertNameMismatch?: string;
  maintenance: boolean;
  /** Mount points below their free-space threshold, with the free percentage. */
  lowDisk: { mount: string; freePercent: number }[];
  /** MemAvailable as a share of MemTotal. */
  memoryAvailablePercent?: number;
  /** Console accounts locked by failed logins now. */
  lockedAccounts?: { user: string; until: Date }[];
  /** Warnings in the local mailbox not read yet (`mail`). */
  unreadMail?: number;
  daemonUnreachable?: boolean;
  /** Updates the last `security check` found pending. */
  securityUpdates?: number;
  /** An installed update needs a reboot (/run/reboot-required). */
  rebootRequired?: boolean;
  /** The table of the config store that fails its checks: platformd runs recovery commands only. */
  storeInvalid?: string;
  /** A release failed its check against its signed manifest at start (releases/): what failed. */
  releaseVerificationFailed?: string;
}

export interface Condition {
  /** Unique while it holds: the event name and its subject (a mount, a user, a member). */
  key: string;
  name: EventName;
  level: EventLevel;
  /** The event's text; when `banner`, also the banner's warning line. */
  text: string;
  banner: boolean;
}

/** Below this share of available memory the node warns. */
export const MEMORY_MIN_AVAILABLE_PERCENT = 10;

export function conditionsOf(facts: StatusFacts, now: Date): Condition[] {
  const out: Condition[] = [];
  const add = (name: EventName, level: EventLevel, subject: string, text: string, banner = true) => out.push({ key: subject ? `${name}:${subject}` : name, name, level, text, banner });

  // One condition per service: one coming back clears its own, never another's.
  for (const service of facts.applicationDown ?? []) add('service-down', 'warn', service, `APPLICATION: ${service.toUpperCase()} DOWN`);
  if (facts.certificate) {
    const { notBefore, notAfter } = facts.certificate;
    if (now >= notAfter) add('web-cert-expired', 'error', '', `WEB CERT EXPIRED AT: ${formatTime(notAfter)}`);
    else if (now >= expiryWarningStart(notBefore, notAfter)) add('web-cert-expiring', 'warn', '', `WEB CERT EXPIRES AT: ${formatTime(notAfter)}`);
  }
  if (facts.webCertNameMismatch) add('web-cert-name-mismatch', 'warn', '', `WEB CERT DOES NOT MATCH NETWORK NAME: ${facts.webCertNameMismatch.toUpperCase()}`);
  if (facts.securityUpdates) add('security-updates', 'warn', '', `SECURITY UPDATES: ${facts.securityUpdates}`);
  if (facts.rebootRequired) add('reboot-required', 'warn', '', 'REBOOT REQUIRED');
  if (facts.releaseVerificationFailed) add('release-verification-failed', 'error', '', `RELEASE VERIFICATION FAILED: ${facts.releaseVerificationFailed}`);
  if (facts.maintenance) add('maintenance-mode', 'info', '', 'SYSTEM IN MAINTENANCE MODE');
  for (const disk of facts.lowDisk) add('disk-low', 'warn', disk.mount, `LOW DISK SPACE: ${disk.mount} ${disk.freePercent}% FREE`);
  if (facts.memoryAvailablePercent !== undefined && facts.memoryAvailablePercent < MEMORY_MIN_AVAILABLE_PERCENT) {
    add('memory-low', 'warn', '', `LOW MEMORY: ${facts.memoryAvailablePercent}% AVAILABLE`);
  }
  // Raised and mailed, but not a banner line: `user list` shows locks, and a locked user's key login must not see the node as unhealthy (health's exit status).
  for (const account of facts.lockedAccounts ?? []) add('account-locked', 'warn', account.user, `ACCOUNT LOCKED: ${account.user.toUpperCase()} UNTIL ${formatTime(account.until)}`, false);
  // The host line already shows LOAD in capitals; the event needs its own text.
  if (facts.load > facts.cpus) add('load-high', 'warn', '', `load ${facts.load.toFixed(2)} is above the ${facts.cpus} cores`, false);
  return out;
}
