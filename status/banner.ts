// The status banner shown at login and by `health`: a pure function from
// host facts and a clock to lines, so that it can be tested with fixed
// facts. Warning lines are upper case, and appear only when they apply.

import { expiryWarningStart } from '../certs/expiry.js';
import type { BannerLine } from '../daemon/protocol.js';
import { conditionsOf } from './conditions.js';
import { formatOffset, formatSize, formatTime, formatUptime } from './format.js';

export { formatSize, formatTime, formatUptime } from './format.js';

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
  /** Apps that should run but do not; empty = up. Undefined when the node runs no application. */
  applicationDown?: string[];
  certificate?: { notBefore: Date; notAfter: Date };
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
}

/** Warn from 30 days before expiry, as the seed says (the policy lives in certs/expiry.ts). */
export const certificateWarningStart = expiryWarningStart;


export function bannerLines(facts: StatusFacts, now: Date): BannerLine[] {
  const lines: BannerLine[] = [];
  const plain = (text: string) => lines.push({ text, warning: false });
  const warn = (text: string) => lines.push({ text, warning: true });

  if (facts.daemonUnreachable) warn('PLATFORMD NOT RUNNING: ONLY LOCAL COMMANDS ARE AVAILABLE');
  const loadKey = facts.load > facts.cpus ? 'LOAD' : 'load';
  plain(`host: ${facts.hostname}, role: ${facts.roles.join(',') || 'not set'}, ${loadKey}: ${facts.load.toFixed(2)}`);
  plain(`date: ${formatTime(now, facts.utcOffsetMinutes)} ${formatOffset(facts.utcOffsetMinutes)}, up: ${formatUptime(facts.uptime)}`);
  plain(`network: ${facts.address}, ntp: ${facts.ntp.join(',') || 'not set'}`);
  if (facts.healthMonitored && facts.healthProblems?.length) warn(`HEALTH: ${facts.healthProblems.join(', ').toUpperCase()}`);
  else plain(`HEALTH: ${facts.healthMonitored ? 'MONITORED' : 'NOT MONITORED'}`);
  if (facts.databaseBytes !== undefined) plain(`database: ${formatSize(facts.databaseBytes)}`);
  if (facts.applicationDown?.length === 0) plain('application: up');
  // Every warning line is a condition, the same ones the events monitor raises.
  for (const condition of conditionsOf(facts, now)) if (condition.banner) warn(condition.text);
  if (facts.unreadMail) warn(`MAIL: ${facts.unreadMail} UNREAD`);
  return lines;
}

