// A fresh node, as `npm start` makes it (embedded default: firewall in plan
// mode, set up as unified,webproxy, no database installed): the
// administrator logs in, and the banner warns of nothing, `health` says the
// node is healthy (exit 0, for monitoring scripts), and no mail waits.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { isMachineDiskWarning, isMachineEvent } from '../support/machine.js';
import { openConsole } from './console.js';

const HOSTNAME = 'fresh01';
const GRACE_MS = 2000;
// The monitor samples twice a second and counts a condition after a 2 s grace (20 s on a node).
const env = withoutCI({ PLATFORM_EVENTS_INTERVAL_MS: '500', PLATFORM_EVENTS_GRACE_MS: String(GRACE_MS) });

let node: RunningDaemon;

beforeAll(async () => {
  node = await startDaemon({ env });
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

    const session = await openConsole(node.home, HOSTNAME, { env });
    try {
      expect(session.banner).toContain(`host: ${HOSTNAME}, role: unified,webproxy`);
      expect(session.banner).toContain('database: not installed');
      expect(session.banner).toContain('application: up');
      expect(session.banner).not.toMatch(/DOWN|database: 0b/);

      const health = await session.type('health', 'HEALTH:');
      expect(health).toContain('database: not installed');
      expect(health).not.toMatch(/APPLICATION:/);

      const mail = await session.type('mail list', /the mailbox is empty|event/);
        // The only mail a fresh node may hold is the truth about this machine (its load, its disk); and mail is no warning.
      const events = mail.split('\n').filter((l) => /^\s*\d+\s+N?\s+\d{4}-/.test(l));
      const unexpected = events.filter((l) => !isMachineEvent(/\b(?:info|warn|error)\s+(\S+)/.exec(l)?.[1] ?? ''));
      expect(unexpected).toEqual([]);
      if (events.length === 0) expect(session.banner).not.toContain('MAIL:');
    } finally {
      await session.close();
    }

    // The outside view a monitoring script has: exit status 0 and no warnings.
    const oneShot = await node.platform(['--json', 'health']);
    const facts = JSON.parse(oneShot.stdout) as { warnings: string[]; applicationDown: string[] | null };
    // A disk this machine really has below its threshold is the one warning a fresh node may show.
    expect(facts.warnings.filter((w) => !isMachineDiskWarning(w, node.home))).toEqual([]);
    expect(oneShot.status, oneShot.stdout).toBe(facts.warnings.length ? 1 : 0);
    expect(facts.applicationDown).toEqual([]);
    const mailbox = JSON.parse((await node.platform(['--json', 'mail', 'list'])).stdout) as { event: string }[];
    expect(mailbox.filter((m) => !isMachineEvent(m.event)).map((m) => m.event)).toEqual([]);
  });
});
