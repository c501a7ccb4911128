// The status banner shown at login and by `health`: a pure function from
// host facts and a clock to lines, so that it can be tested with fixed
// facts. Warning lines are upper case, and appear only when they apply.

import { expiryWarningStart } from '../certs/expiry.js';
import type { BannerLine } from '../daemon/protocol.js';

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
  daemonUnreachable?: boolean;
}

/** Warn from 30 days before expiry, or from the last third of a short lifetime (the policy lives in certs/expiry.ts). */
export const certificateWarningStart = expiryWarningStart;

export function certificateLine(cert: { notBefore: Date; notAfter: Date }, now: Date): string | undefined {
  if (now >= cert.notAfter) return `WEB CERT EXPIRED AT: ${formatTime(cert.notAfter, 0)}`;
  if (now >= certificateWarningStart(cert.notBefore, cert.notAfter)) return `WEB CERT EXPIRES AT: ${formatTime(cert.notAfter, 0)}`;
  return undefined;
}

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
  if (facts.applicationDown !== undefined) {
    if (facts.applicationDown.length === 0) plain('application: up');
    else warn(`APPLICATION: ${facts.applicationDown.join(', ').toUpperCase()} DOWN`);
  }
  if (facts.certificate) {
    const line = certificateLine(facts.certificate, now);
    if (line) warn(line);
  }
  if (facts.maintenance) warn('SYSTEM IN MAINTENANCE MODE');
  for (const disk of facts.lowDisk) warn(`LOW DISK SPACE: ${disk.mount} ${disk.freePercent}% FREE`);
  return lines;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:MM:SS` in the given offset from UTC. */
export function formatTime(time: Date, offsetMinutes: number): string {
  const t = new Date(time.getTime() + offsetMinutes * 60_000);
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `6 days, 3:03` or `2:05`, as `uptime` prints it. */
export function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const clock = `${hours}:${pad(minutes)}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
}

/** `20Gb`, `512Mb`, as the appliance prints database sizes. */
export function formatSize(bytes: number): string {
  const units = ['b', 'Kb', 'Mb', 'Gb', 'Tb'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value >= 10 || unit === 0 ? Math.round(value).toString() : value.toFixed(1);
  return `${shown}${units[unit]}`;
}
