// How long the audit log keeps its entries: a setting (`log retention`),
// 365 days unless changed; the daemon prunes once a day.

import { SETTINGS, type SettingKey } from '../store/settings.js';

export const AUDIT_RETENTION_KEY = 'log.auditRetentionDays' satisfies SettingKey;
export const DEFAULT_AUDIT_RETENTION_DAYS = SETTINGS[AUDIT_RETENTION_KEY].fallback;

/** Entries older than this moment go. */
export function auditCutoff(retentionDays: number, now = new Date()): string {
  return new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
}
