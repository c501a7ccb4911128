// The status banner shown at login and by `health`: a pure function from
// host facts and a clock to lines, so that it can be tested with fixed
// facts. Warning lines are upper case, and appear only when they apply.

import { expiryWarningStart } from '../certs/expiry.js';
import type { BannerLine } from '../core/protocol.js';
import { conditionsOf, type StatusFacts } from './conditions.js';
import { formatSize, formatUptime } from './format.js';
import { formatTime } from '../core/time.js';
import { escapeControls } from '../core/escape.js';

/** Warn from 30 days before expiry, as the seed says (the policy lives in certs/expiry.ts). */
export const certificateWarningStart = expiryWarningStart;

export function bannerLines(facts: StatusFacts, now: Date): BannerLine[] {
  const lines: BannerLine[] = [];
  const plain = (text: string) => lines.push({ text, warning: false });
  const warn = (text: string) => lines.push({ text, warning: true });

  if (facts.daemonUnreachable) warn('PLATFORMD NOT RUNNING: ONLY LOCAL COMMANDS ARE AVAILABLE');
  if (facts.storeInvalid) warn(`STORE INVALID: ${escapeControls(facts.storeInvalid)}: RECOVERY COMMANDS ONLY (BACKUP RESTORE)`);
  const loadKey = facts.load > facts.cpus ? 'LOAD' : 'load';
  // Values of the store are printed escaped: a stored new line never draws a line of its own.
  plain(`host: ${escapeControls(facts.hostname)}, role: ${facts.roles.join(',') || 'not set'}, ${loadKey}: ${facts.load.toFixed(2)}`);
  plain(`date: ${formatTime(now)}, up: ${formatUptime(facts.uptime)}`);
  plain(`network: ${facts.address}, ntp: ${facts.ntp.join(',') || 'not set'}`);
  if (facts.healthMonitored && facts.healthProblems?.length) warn(`HEALTH: ${facts.healthProblems.join(', ').toUpperCase()}`);
  else plain(`HEALTH: ${facts.healthMonitored ? 'MONITORED' : 'NOT MONITORED'}`);
  if (facts.notInstalled?.includes('database')) plain('database: not installed');
  else if (facts.databaseBytes !== undefined) plain(`database: ${formatSize(facts.databaseBytes)}`);
  if (facts.applicationDown?.length === 0) plain('application: up');
  // Every warning line is a condition, the same ones the events monitor raises.
  for (const condition of conditionsOf(facts, now)) if (condition.banner) warn(condition.text);
  // Mail records warnings already raised; what still holds is a condition above, so unread mail alone is no warning (health's exit status).
  if (facts.unreadMail) plain(`MAIL: ${facts.unreadMail} UNREAD`);
  return lines;
}

