// When the web certificate's expiry is announced: exactly as the seed says,
// "30 days before the expiration", whatever the certificate's lifetime (a
// certificate issued for fewer than 30 days is announced from its first day).

const DAY_MS = 86_400_000;

export const EXPIRY_NOTICE_DAYS = 30;

/** The moment the banner (and the expiry event) starts warning about this certificate. */
export function expiryWarningStart(_notBefore: Date, notAfter: Date): Date {
  return new Date(notAfter.getTime() - EXPIRY_NOTICE_DAYS * DAY_MS);
}

export type ExpiryState = 'valid' | 'expiring' | 'expired';

export function expiryState(dates: { notBefore: Date; notAfter: Date }, now: Date): ExpiryState {
  if (now >= dates.notAfter) return 'expired';
  return now >= expiryWarningStart(dates.notBefore, dates.notAfter) ? 'expiring' : 'valid';
}

/**
 * How long until the daemon looks again: daily, hourly once the certificate
 * is expired or has less than a day left (as CUCM's certificate monitor does),
 * and never later than the moment the warning starts or it expires.
 */
export function nextExpiryCheckMs(dates: { notBefore: Date; notAfter: Date }, now: Date): number {
  const left = dates.notAfter.getTime() - now.getTime();
  const interval = left < DAY_MS ? DAY_MS / 24 : DAY_MS;
  const milestones = [expiryWarningStart(dates.notBefore, dates.notAfter).getTime(), dates.notAfter.getTime()].map((t) => t - now.getTime()).filter((ms) => ms > 0);
  return Math.max(1000, Math.min(interval, ...milestones));
}
