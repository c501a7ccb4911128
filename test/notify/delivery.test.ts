// Notifications for real: platformd in its own network namespace sends to a
// real SMTP relay (aiosmtpd, STARTTLS required) and real trap receivers
// (snmptrapd, v2c and v3 authPriv) in another. Events wait in the outbox
// while a relay is down, arrive when it returns (also across a daemon
// restart), respect the rate limit, and are held in maintenance mode.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createLan, removeStale, type Lan } from '../support/netns.js';
import { startDaemon, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { startMailServer, startTrapReceiver, type MailServer, type TrapReceiver } from '../support/servers.js';
import { until } from '../support/until.js';

const PREFIX = `psnt${process.pid % 10000}`;
const OID = '1.3.6.1.4.1.8072.9999.9999.7';
const V3 = { name: 'bob', auth: 'SHA', authPassword: 'Secret-auth1', priv: 'AES', privPassword: 'Secret-priv1' };

let lan: Lan;
let node: RunningDaemon;
let relay: MailServer;
let traps: TrapReceiver;
let home: string;
const relayIp = () => lan.hosts.relay!.ipv4;
// Conditions sampled twice a second and raised after a 1 s grace (20 s on a node).
const env = withoutCI({ PLATFORM_EVENTS_INTERVAL_MS: '500', PLATFORM_EVENTS_GRACE_MS: '1000' });

const start = (h?: string) => startDaemon({ netns: lan.hosts.node!.ns, home: h, env });

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.250.14', 'fd00:250:14', { node: 1, relay: 2 });
  relay = await startMailServer(lan.hosts.relay!.ns, relayIp(), 2525);
  traps = await startTrapReceiver(lan.hosts.relay!.ns, relayIp(), 1162, { communities: ['public1'], users: [V3] });
  node = await start();
  home = node.home;
});

afterAll(async () => {
  await node?.stop();
  await relay?.stop();
  await traps?.stop();
  lan?.destroy();
});

describe('notify', () => {
  it('takes a relay with a port, and refuses what is not host[:port]', async () => {
    const set = await node.platform(['notify', 'emailrelay', `${relayIp()}:2525`]);
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toContain(`emailrelay: ${relayIp()}:2525`);
    for (const bad of [`${relayIp()}:99999`, 'relay:', 'a b', 'relay:25:25']) {
      const refused = await node.platform(['notify', 'emailrelay', bad]);
      expect(refused.status, bad).toBe(2);
    }
    expect((await node.platform(['notify', 'list'])).stdout).toContain(`${relayIp()}:2525`);
  });

  it('answers a bare mail address with the URI it should be', async () => {
    const bare = await node.platform(['notify', 'add', 'error', 'ops@example.com']);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('"ops@example.com" has no scheme; a mail target is written mailto:ops@example.com');
  });

  it('sends notify test by mail (STARTTLS, sender platform@<hostname>) and as v2c and v3 informs; secrets stay ***', async () => {
    const v3 = `snmp://${V3.name}:${V3.auth}:${V3.authPassword}:${V3.priv}:${V3.privPassword}@${relayIp()}:1162`;
    expect((await node.platform(['notify', 'add', 'warn', 'mailto:ops@example.test'])).status).toBe(0);
    const added = await node.platform(['notify', 'add', 'error', `snmp://public1@${relayIp()}:1162`, v3]);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).not.toContain('public1');
    expect(added.stdout).not.toContain(V3.authPassword);
    expect(added.stdout).toContain(`snmp://bob:SHA:***:AES:***@${relayIp()}:1162`);

    const test = await node.platform(['notify', 'test', 'error']);
    expect(test.status, test.stderr).toBe(0);
    const mail = await until('the test mail', () => relay.messages().find((m) => m.includes('notify-test')));
    expect(mail).toMatch(/^From: platform@\S+/m);
    expect(mail).toMatch(/^To: ops@example\.test/m);
    expect(mail).toMatch(/^Subject: \[\S+\] ERROR: notify-test/m);
    expect(mail).toMatch(/^level: error$/m);
    // aiosmtpd was started with a certificate and requires TLS: the mail came over STARTTLS.
    expect(relay.output()).not.toMatch(/Must issue a STARTTLS/);

    const informs = await until('two informs', () => {
      const got = traps.notifications().filter((n) => n[`${OID}.1.3`] === 'notify-test');
      return got.length >= 2 && got;
    });
    for (const inform of informs) {
      expect(inform['1.3.6.1.6.3.1.1.4.1.0']).toMatch(new RegExp(`${OID}\\.0\\.1$`));
      expect(inform[`${OID}.1.2`]).toBe('error');
      expect(inform[`${OID}.1.1`]).toBeTruthy();
      expect(inform[`${OID}.1.4`]).toContain('test notification (error)');
    }
    // Nothing secret in the daemon's log either.
    expect(node.output()).not.toContain(V3.authPassword);
    expect(node.output()).not.toContain('public1');
  });

  it('says what is wrong when no target receives the level', async () => {
    const result = await node.platform(['notify', 'test', 'info']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no notification target receives info');
  });

  it('raises a real event: a web certificate within 30 days of expiry goes by mail, to the banner and the mailbox', async () => {
    const dir = join(home, 'certs', 'web');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem'), '-days', '10', '-subj', '/CN=node'], { stdio: 'ignore' });
    const mail = await until('the expiry mail', () => relay.messages().find((m) => m.includes('web-cert-expiring')));
    expect(mail).toMatch(/^WEB CERT EXPIRES AT: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);
    expect(mail).toMatch(/^Subject: \[\S+\] WARN: web-cert-expiring/m);

    const banner = await node.platform(['health']);
    expect(banner.stdout).toMatch(/^WEB CERT EXPIRES AT: /m);
    expect(banner.stdout).toMatch(/^MAIL: \d+ UNREAD$/m);
    const list = await node.platform(['mail', 'list']);
    expect(list.stdout).toContain('web-cert-expiring');
    const number = list.stdout.split('\n').find((l) => l.includes('web-cert-expiring'))!.trim().split(/\s+/)[0]!;
    const read = await node.platform(['mail', 'read', number]);
    expect(read.stdout).toContain('WEB CERT EXPIRES AT');
    expect((await node.platform(['mail', 'read', '999'])).status).toBe(2);
    expect((await node.platform(['mail', 'del', 'all'])).status).toBe(0);
    expect((await node.platform(['health'])).stdout).not.toContain('MAIL:');
  });

  it('keeps events in the outbox while the relay is down and delivers them when it returns, also after a daemon restart', async () => {
    await relay.stop();
    const before = relay.messages().length;
    expect((await node.platform(['notify', 'test', 'warn'])).status).toBe(0);
    await until('a failed attempt', async () => /waiting: 1\n\s+last error: (?!none)/.test((await node.platform(['notify', 'list'])).stdout));
    await relay.start();
    await until('the mail after the relay came back', () => relay.messages().length === before + 1);

    await relay.stop();
    expect((await node.platform(['notify', 'test', 'warn'])).status).toBe(0);
    await until('a failed attempt', async () => /waiting: 1\n\s+last error: (?!none)/.test((await node.platform(['notify', 'list'])).stdout));
    await node.stop({ keepHome: true });
    await relay.start();
    node = await start(home);
    await until('the mail after the restart', () => relay.messages().length === before + 2);
    expect((await node.platform(['notify', 'list'])).stdout).not.toContain('waiting');
  });

  it('shows each waiting target with its own last error, also two that look alike once their secrets are hidden', async () => {
    // Two communities on a port where no receiver answers: both informs time out.
    const alike = [`snmp://alike1@${relayIp()}:1999`, `snmp://alike2@${relayIp()}:1999`];
    expect((await node.platform(['notify', 'add', 'warn', ...alike])).status).toBe(0);
    try {
      expect((await node.platform(['notify', 'test', 'warn'])).status).toBe(0);
      const shown = `target: snmp://***@${relayIp()}:1999`;
      const list = await until('both targets failed', async () => {
        const text = (await node.platform(['notify', 'list'])).stdout;
        const entries = text.split('- ').filter((e) => e.startsWith(shown));
        return entries.length === 2 && entries.every((e) => /last error: (?!none)\S/.test(e)) && text;
      });
      const json = JSON.parse((await node.platform(['--json', 'notify', 'list'])).stdout) as { outbox: { target: string; lastError: string | null }[] };
      // Every last error the JSON has is on the screen.
      for (const entry of json.outbox) if (entry.lastError) expect(list).toContain(`last error: ${entry.lastError}`);
    } finally {
      for (const uri of alike) await node.platform(['notify', 'del', 'warn', uri]);
    }
  });

  it('sends at most 20 messages a minute to a target and summarises the rest', async () => {
    const limited = await startTrapReceiver(lan.hosts.relay!.ns, relayIp(), 1163, { communities: ['rate1'] });
    try {
      expect((await node.platform(['notify', 'add', 'info', `snmp://rate1@${relayIp()}:1163`])).status).toBe(0);
      await limited.stop();
      // 30 events while the receiver is away: a backlog larger than a minute's room.
      const results = await Promise.all(Array.from({ length: 30 }, () => node.platform(['notify', 'test', 'info'])));
      expect(results.every((r) => r.status === 0)).toBe(true);
      await limited.start();
      const got = await until('20 notifications', () => limited.notifications().length >= 20 && limited.notifications(), 40_000);
      await new Promise((r) => setTimeout(r, 3000));
      expect(limited.notifications()).toHaveLength(20);
      const events = got.map((n) => n[`${OID}.1.3`]);
      const summary = got.find((n) => n[`${OID}.1.3`] === 'notify-summary')!;
      expect(summary[`${OID}.1.4`]).toMatch(/^\d+ more events held back by the rate limit of 20 messages a minute/);
      // Every test event is either delivered or counted in the summary (a loaded machine may add a load-high event of its own).
      const heldBack = Number(/notify-test \(info\) x(\d+)/.exec(summary[`${OID}.1.4`] as string)?.[1] ?? 0);
      expect(events.filter((e) => e === 'notify-test').length + heldBack).toBe(30);
    } finally {
      await node.platform(['notify', 'del', 'info', `snmp://rate1@${relayIp()}:1163`]);
      await limited.stop();
    }
  });

  it('sends nothing in maintenance mode, and one summary after it', async () => {
    const before = relay.messages().length;
    expect((await node.platform(['--yes', 'system', 'maintenance-mode', 'start'])).status).toBe(0);
    for (let i = 0; i < 3; i++) expect((await node.platform(['notify', 'test', 'error'])).status).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect(relay.messages()).toHaveLength(before);
    expect((await node.platform(['notify', 'list'])).stdout).toMatch(/waiting: 3 \(3 from maintenance mode\)/);
    expect((await node.platform(['--yes', 'system', 'maintenance-mode', 'stop'])).status).toBe(0);
    const summary = await until('the summary', () => relay.messages().slice(before).find((m) => m.includes('notify-summary')));
    expect(summary).toMatch(/3 more events raised while the node was in maintenance mode/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(relay.messages()).toHaveLength(before + 1);
  });
});
