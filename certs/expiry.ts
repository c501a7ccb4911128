// When the web certificate's expiry is announced: from 30 days before it, or
// for short-lived certificates from the last third of their lifetime,
// whichever window is shorter (Go's autocert and cert-manager renew at
// min(30 days, 1/3 of the lifetime); with 45-day certificates a fixed 30
// days would warn for two thirds of their life).

const DAY_MS = 86_400_000;

export const EXPIRY_NOTICE_DAYS = 30;

/** The moment the banner starts warning about this certificate. */
export function expiryWarningStart(notBefore: Date, notAfter: Date): Date {
  const lifetime = Math.max(0, notAfter.getTime() - notBefore.getTime());
  return new Date(notAfter.getTime() - Math.min(EXPIRY_NOTICE_DAYS * DAY_MS, lifetime / 3));
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
