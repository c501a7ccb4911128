import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { bannerLines } from '../../status/banner.js';
import { formatSize, formatUptime } from '../../status/format.js';
import type { StatusFacts } from '../../status/conditions.js';
import { readCertificateDates } from '../../status/facts.js';
import { tempHome } from '../support/daemon.js';

const dir = tempHome('ps-banner-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real self-signed certificate valid for `days` from now, made with openssl. */
function certificateFor(days: number) {
  const file = join(dir, `cert-${days}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `key-${days}.pem`), '-out', file, '-days', String(days), '-subj', '/CN=as01'], { stdio: 'ignore' });
  return readCertificateDates(file)!;
}

const facts: StatusFacts = {
  hostname: 'AS01',
  roles: ['webproxy', 'application', 'database'],
  load: 3.85,
  cpus: 4,
  uptime: 6 * 86_400 + 3 * 3600 + 3 * 60 + 17,
  utcOffsetMinutes: 0,
  address: '172.29.42.100',
  ntp: ['196.26.5.10'],
  healthMonitored: false,
  databaseBytes: 20 * 1024 ** 3,
  applicationDown: [],
  maintenance: false,
  lowDisk: [],
};
const clock = new Date('2014-08-28T11:24:22Z');
const text = (f: StatusFacts, now = clock) => bannerLines(f, now).map((l) => l.text);

describe('status banner', () => {
  it('prints the reference layout from fixed facts and a fixed clock', () => {
    expect(text(facts)).toEqual([
      'host: AS01, role: webproxy,application,database, load: 3.85',
      'date: 2014-08-28 11:24:22 UTC, up: 6 days, 3:03',
      'network: 172.29.42.100, ntp: 196.26.5.10',
      'HEALTH: NOT MONITORED',
      'database: 20Gb',
      'application: up',
    ]);
  });

  it('upper-cases warnings: load over the core count, apps down, maintenance, disk', () => {
    const lines = bannerLines({ ...facts, load: 5, applicationDown: ['nginx'], maintenance: true, lowDisk: [{ mount: '/', freePercent: 12 }] }, clock);
    expect(lines[0]!.text).toContain('LOAD: 5.00');
    const warnings = lines.filter((l) => l.warning).map((l) => l.text);
    expect(warnings).toEqual(['APPLICATION: NGINX DOWN', 'SYSTEM IN MAINTENANCE MODE', 'LOW DISK SPACE: / 12% FREE']);
  });

  it('leaves out the database and application lines on nodes without those roles', () => {
    const lines = text({ ...facts, roles: ['webproxy'], databaseBytes: undefined, applicationDown: undefined });
    expect(lines.some((l) => l.startsWith('database:') || l.startsWith('application:'))).toBe(false);
  });

  it('warns about the web certificate from 30 days before expiry, and after it', () => {
    const year = certificateFor(365);
    const daysBefore = (days: number) => new Date(year.notAfter.getTime() - days * 86_400_000);
    expect(text({ ...facts, certificate: year }, daysBefore(31)).some((l) => l.startsWith('WEB CERT'))).toBe(false);
    const expiring = text({ ...facts, certificate: year }, daysBefore(29)).find((l) => l.startsWith('WEB CERT'));
    expect(expiring).toMatch(/^WEB CERT EXPIRES AT: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    const after = new Date(year.notAfter.getTime() + 60_000);
    expect(text({ ...facts, certificate: year }, after).find((l) => l.startsWith('WEB CERT'))).toMatch(/^WEB CERT EXPIRED AT: /);
  });

  it('warns for short-lived certificates from 30 days before expiry too, as the seed says', () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2026-04-01T00:00:00Z'); // 90 days: warn from 2026-03-02
    const at = (iso: string) => text({ ...facts, certificate: { notBefore, notAfter } }, new Date(iso)).some((l) => l.startsWith('WEB CERT EXPIRES'));
    expect(at('2026-03-01T00:00:00Z')).toBe(false);
    expect(at('2026-03-03T00:00:00Z')).toBe(true);
    // A certificate issued for 29 days shows the line from its first day.
    const shortLived = certificateFor(29);
    expect(text({ ...facts, certificate: shortLived }, new Date()).some((l) => l.startsWith('WEB CERT EXPIRES AT: '))).toBe(true);
  });

  it('formats sizes and uptimes as the appliance does', () => {
    expect(formatSize(8 * 1024 ** 3)).toBe('8.0Gb');
    expect(formatSize(512 * 1024 ** 2)).toBe('512Mb');
    expect(formatUptime(2 * 3600 + 5 * 60)).toBe('2:05');
    expect(formatUptime(86_400 + 60)).toBe('1 day, 0:01');
  });
});
