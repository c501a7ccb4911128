// A fresh node, as `npm start` makes it (embedded default: firewall in plan
// mode, set up as unified,webproxy, no database installed): the
// administrator logs in, and the banner warns of nothing, `health` says the
// node is healthy (exit 0, for monitoring scripts), and no mail waits.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableParallelism, loadavg } from 'node:os';
import { startDaemon, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { openConsole } from './console.js';

const HOSTNAME = 'fresh01';
const GRACE_MS = 2000;
// The monitor samples twice a second and counts a condition after a 2 s grace (20 s on a node).
const env = withoutCI({ PLATFORM_EVENTS_INTERVAL_MS: '500', PLATFORM_EVENTS_GRACE_MS: String(GRACE_MS) });

let node: RunningDaemon;
/** Whether this machine's load really passed its core count during the journey: then load-high is a true event, not a false alarm. */
let loadedMachine = false;
const noteLoad = () => (loadedMachine ||= loadavg()[0]! > availableParallelism());

beforeAll(async () => {
  node = await startDaemon({ env });
  noteLoad();
  // What scripts/start.mjs does on first start.
  const setup = await node.platform(['system', 'setup', '--hostname', HOSTNAME, '--role', 'unified,webproxy', '--data-centre', 'local']);
  expect(setup.status, setup.stderr).toBe(0);
});
afterAll(async () => {
  await node?.stop();
});

describe('a fresh node', () => {
  it('greets with a banner that warns of nothing, is healthy, and has no mail', async () => {
    // Give the monitor well past its grace: whatever it would raise at start, it has raised by now.
    await new Promise((r) => setTimeout(r, GRACE_MS * 3));
    noteLoad();

    const session = await openConsole(node.home, HOSTNAME, { env });
    try {
      expect(session.banner).toContain(`host: ${HOSTNAME}, role: unified,webproxy`);
      expect(session.banner).toContain('database: not installed');
      expect(session.banner).toContain('application: up');
      expect(session.banner).not.toMatch(/DOWN|database: 0b/);
      // Mail shows only for a true load-high (see below); either way it is no warning.
      if (!loadedMachine) expect(session.banner).not.toContain('MAIL:');

      const health = await session.type('health', 'HEALTH:');
      expect(health).toContain('database: not installed');
      expect(health).not.toMatch(/APPLICATION:/);

      const mail = await session.type('mail list', /the mailbox is empty|event/);
      noteLoad();
      // The only mail a fresh node may hold is the truth about this machine's load, when it really was above its cores.
      const events = mail.split('\n').filter((l) => /^\s*\d+\s+N?\s+\d{4}-/.test(l));
      const unexpected = events.filter((l) => !(loadedMachine && /\bload-high\b/.test(l)));
      expect(unexpected).toEqual([]);
    } finally {
      await session.close();
    }

    // The outside view a monitoring script has: exit status 0 and no warnings.
    const oneShot = await node.platform(['--json', 'health']);
    expect(oneShot.status, oneShot.stdout).toBe(0);
    const facts = JSON.parse(oneShot.stdout) as { warnings: string[]; applicationDown: string[] | null };
    expect(facts.warnings).toEqual([]);
    expect(facts.applicationDown).toEqual([]);
    const mailbox = JSON.parse((await node.platform(['--json', 'mail', 'list'])).stdout) as { event: string }[];
    expect(mailbox.filter((m) => !(loadedMachine && m.event === 'load-high')).map((m) => m.event)).toEqual([]);
  });
});
