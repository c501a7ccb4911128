// platformd restarted five times on a node whose database is installed but
// stopped, with every event mailed (a real SMTP relay, aiosmtpd, in another
// namespace): the database's one true warning is mailed once, and no restart
// mails anything: no service "down" while it was only starting, no
// "cleared" for the database that is still down. The console's banner says
// the same after each restart.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLan, removeStale, type Lan } from '../support/netns.js';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { startMailServer, type MailServer } from '../support/servers.js';
import { until } from '../support/until.js';
import { isMachineEvent } from '../support/machine.js';
import { openConsole } from './console.js';

const PREFIX = `psjr${process.pid % 10000}`;
const HOSTNAME = 'restart01';
const GRACE_MS = 3000;
const env = withoutCI({ PLATFORM_EVENTS_INTERVAL_MS: '500', PLATFORM_EVENTS_GRACE_MS: String(GRACE_MS) });

let lan: Lan;
let relay: MailServer;
let node: RunningDaemon;
let home: string;
const start = () => startDaemon({ netns: lan.hosts.node!.ns, home, env });

/** The event a mail is about, from its subject ("[host] WARN: service-down"). */
const eventOf = (mail: string) => /^Subject: \[\S+\] \w+: (\S+)/m.exec(mail)?.[1] ?? '?';
/** The machine's load and disk are real and vary under a test run: their events and clearings are true, not restart alarms. */
const restartRelevant = (mail: string) => !isMachineEvent(eventOf(mail));

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.250.31', 'fd00:250:31', { node: 1, relay: 2 });
  relay = await startMailServer(lan.hosts.relay!.ns, lan.hosts.relay!.ipv4, 2525);
  home = tempHome();
  // A database that is installed (the supervisor knows how to run it) but not started: truly down.
  mkdirSync(join(home, 'etc'), { recursive: true });
  writeFileSync(join(home, 'etc', 'apps.json'), JSON.stringify([{ name: 'db', service: 'database', command: [process.execPath, '-e', "require('node:net').createServer().listen(27017)"] }]));
  node = await start();
  for (const words of [
    ['system', 'setup', '--hostname', HOSTNAME, '--role', 'unified,webproxy', '--data-centre', 'local'],
    ['notify', 'emailrelay', `${lan.hosts.relay!.ipv4}:2525`],
    ['notify', 'add', 'info', 'mailto:ops@example.test'],
  ]) {
    const result = await node.platform(words);
    expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
  }
});
afterAll(async () => {
  await node?.stop();
  await relay?.stop();
  lan?.destroy();
});

describe('restarting platformd', () => {
  it('mails the one true warning once, and nothing at any of five restarts', async () => {
    const first = await until('the database warning by mail', () => relay.messages().filter(restartRelevant).length > 0 && relay.messages().filter(restartRelevant));
    expect(first.map(eventOf)).toEqual(['service-down']);
    expect(first[0]).toMatch(/^APPLICATION: DATABASE DOWN$/m);

    for (let i = 1; i <= 5; i++) {
      await node.stop({ keepHome: true });
      node = await start();
      // Past the grace, twice: whatever a restart would raise or clear has been raised or cleared.
      await new Promise((r) => setTimeout(r, GRACE_MS * 2));
      const session = await openConsole(home, HOSTNAME, { netns: lan.hosts.node!.ns, env });
      try {
        const banner = session.banner.split('\n').filter((l) => l.startsWith('APPLICATION:'));
        expect(banner, `restart ${i}`).toEqual(['APPLICATION: DATABASE DOWN']);
      } finally {
        await session.close();
      }
    }
    // Everything the relay got, the outbox delivered: nothing waits that could still arrive.
    await until('an empty outbox', async () => !(await node.platform(['notify', 'list'])).stdout.includes('waiting'));
    expect(relay.messages().filter(restartRelevant).map(eventOf)).toEqual(['service-down']);
    const mailbox = JSON.parse((await node.platform(['--json', 'mail', 'list'])).stdout) as { event: string }[];
    expect(mailbox.map((m) => m.event).filter((e) => !isMachineEvent(e))).toEqual(['service-down']);
  });
});
