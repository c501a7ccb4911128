// The node's warnings as conditions: the banner's warning lines and the
// events come from the same rule, so what the banner shows is what is raised.

import { describe, expect, it } from 'vitest';
import { bannerLines } from '../../status/banner.js';
import type { StatusFacts } from '../../status/conditions.js';
import { conditionsOf } from '../../status/conditions.js';

const facts: StatusFacts = {
  hostname: 'as01', roles: ['unified'], load: 0.5, cpus: 4, uptime: 100, utcOffsetMinutes: 0, address: '10.0.0.1', ntp: [], healthMonitored: false,
  applicationDown: [], maintenance: false, lowDisk: [], memoryAvailablePercent: 50, lockedAccounts: [], unreadMail: 0,
};
const now = new Date('2026-06-01T00:00:00Z');

describe('conditions', () => {
  it('are none on a healthy node', () => {
    expect(conditionsOf(facts, now)).toEqual([]);
  });

  it('name every threshold passed, with the banner line as the event text', () => {
    const conditions = conditionsOf(
      {
        ...facts,
        load: 9,
        memoryAvailablePercent: 4,
        lowDisk: [{ mount: '/var/log', freePercent: 5 }],
        applicationDown: ['https'],
        lockedAccounts: [{ user: 'ann', until: new Date('2026-06-01T00:15:00Z') }],
        certificate: { notBefore: new Date('2026-05-20T00:00:00Z'), notAfter: new Date('2026-06-20T00:00:00Z') },
      },
      now,
    );
    expect(conditions.map((c) => [c.key, c.level])).toEqual([
      ['service-down:https', 'warn'],
      ['web-cert-expiring', 'warn'],
      ['disk-low:/var/log', 'warn'],
      ['memory-low', 'warn'],
      ['account-locked:ann', 'warn'],
      ['load-high', 'warn'],
    ]);
    const warnings = bannerLines({ ...facts, memoryAvailablePercent: 4, lockedAccounts: [{ user: 'ann', until: new Date('2026-06-01T00:15:00Z') }], unreadMail: 2 }, now).filter((l) => l.warning).map((l) => l.text);
    // Unread mail is shown, but is no warning: what still holds is a condition of its own.
    expect(warnings).toEqual(['LOW MEMORY: 4% AVAILABLE']);
    expect(conditions.find((c) => c.name === 'account-locked')!.text).toBe('ACCOUNT LOCKED: ANN UNTIL 2026-06-01 00:15:00 UTC');
  });

  it('are one per service down, so that one service coming back clears only its own', () => {
    const conditions = conditionsOf({ ...facts, applicationDown: ['https', 'database'] }, now);
    expect(conditions.map((c) => [c.key, c.text])).toEqual([
      ['service-down:https', 'APPLICATION: HTTPS DOWN'],
      ['service-down:database', 'APPLICATION: DATABASE DOWN'],
    ]);
  });

  it('say "not installed" for a service nothing is installed to run, and warn of nothing', () => {
    const lines = bannerLines({ ...facts, notInstalled: ['database'], unreadMail: 1 }, now);
    expect(lines.find((l) => l.text.startsWith('database:'))).toEqual({ text: 'database: not installed', warning: false });
    expect(lines.filter((l) => l.warning)).toEqual([]);
    expect(bannerLines({ ...facts, databaseBytes: 2048 }, now).map((l) => l.text)).toContain('database: 2.0Kb');
  });

  it('turn an expired certificate into an error', () => {
    const [expired] = conditionsOf({ ...facts, certificate: { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2026-05-01T00:00:00Z') } }, now);
    expect(expired).toMatchObject({ name: 'web-cert-expired', level: 'error', text: 'WEB CERT EXPIRED AT: 2026-05-01 00:00:00 UTC' });
  });
});
