// A management source added as an administrator does it, in the console:
// in plan mode (the embedded default) and in apply mode (platformd in its
// own namespace, a real nftables table), confirmed and not. Each time the
// screen says what will happen and when, and it does: the kernel's set (nft)
// and the node's settings are the outside witnesses.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLan, removeStale, type Lan } from '../support/netns.js';
import { startDaemon, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { until } from '../support/until.js';
import { openConsole, type ConsoleSession } from './console.js';

const PREFIX = `psjf${process.pid % 10000}`;
const env = withoutCI();

let lan: Lan;
let planNode: RunningDaemon;
let applyNode: RunningDaemon;
const ns = () => lan.hosts.node!.ns;
const managementSet = () => execFileSync('ip', ['netns', 'exec', ns(), 'nft', 'list', 'set', 'inet', 'platform', 'management_v4'], { encoding: 'utf8' });

/** "HH:MM:SS" said on the screen, as today's time on this machine. */
function clockTime(text: string): Date {
  const [h, m, s] = text.split(':').map(Number);
  const at = new Date();
  at.setUTCHours(h!, m!, s!, 0);
  return at;
}

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.250.32', 'fd00:250:32', { node: 1, admin: 2 });
  planNode = await startDaemon({ env });
  applyNode = await startDaemon({ netns: ns(), args: ['--firewall', 'apply'], env });
  for (const node of [planNode, applyNode]) expect((await node.platform(['system', 'setup', '--hostname', 'fw01', '--role', 'unified'])).status).toBe(0);
});
afterAll(async () => {
  await planNode?.stop();
  await applyNode?.stop();
  lan?.destroy();
});

async function withConsole(node: RunningDaemon, netns: string | undefined, journey: (session: ConsoleSession) => Promise<void>) {
  const session = await openConsole(node.home, 'fw01', { netns, env });
  try {
    await journey(session);
  } finally {
    await session.close();
  }
}

describe('a confirmed firewall change', () => {
  it('in plan mode: says nothing needs confirming and nothing rolls back, and nothing does', async () => {
    await withConsole(planNode, undefined, async (session) => {
      const said = await session.type('firewall allow 172.16.0.0/12 2', 'nothing rolls back');
      expect(said).toContain('saved in the plan, not applied');
      // Past the seconds given: the change is still there.
      await new Promise((r) => setTimeout(r, 3000));
      const status = await session.type('firewall status', 'pending confirmation');
      expect(status).toMatch(/pending confirmation: none/);
      const confirm = await session.type('firewall confirm', 'no firewall change is waiting');
      expect(confirm).toContain('no firewall change is waiting for confirmation');
    });
    // The plan still holds the source: SSH from inside it is allowed as a management source.
    const explain = await planNode.platform(['firewall', 'explain', '172.16.5.5', '22']);
    expect(explain.stdout).toContain('allowed: 172.16.5.5 is a management source');
  });

  it('explain refuses a network as bad input (exit 2), and the daemon logs no trace of it', async () => {
    const refused = await planNode.platform(['firewall', 'explain', '10.0.0.0/8', '22']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('"10.0.0.0/8" is a network; explain needs one address');
    expect(readFileSync(join(planNode.home, 'logs', 'platformd.log'), 'utf8')).not.toMatch(/FirewallInputError|^\s+at /m);
  });

  it('in apply mode, not confirmed: says when it rolls back, and rolls back then', async () => {
    const admin = `${lan.hosts.admin!.ipv4}/32`;
    let deadline = new Date();
    await withConsole(applyNode, ns(), async (session) => {
      const said = await session.type(`firewall allow ${admin} 4`, 'unless you run "firewall confirm"');
      const at = /applied; rolls back at (\d\d:\d\d:\d\d) UTC \(in 4 s\)/.exec(said)?.[1];
      expect(at, said).toBeDefined();
      deadline = clockTime(at!);
    });
    expect(managementSet()).toContain(lan.hosts.admin!.ipv4);
    await until('the rollback', () => !managementSet().includes(lan.hosts.admin!.ipv4), 15_000);
    // Rolled back at the time said, not before it (the screen's clock has whole seconds).
    expect(Date.now()).toBeGreaterThanOrEqual(deadline.getTime());
    const mail = JSON.parse((await applyNode.platform(['--json', 'mail', 'list'])).stdout) as { event: string; text: string }[];
    expect(mail.find((m) => m.event === 'firewall-rolled-back')?.text).toContain(`allow ${admin}`);
  });

  it('in apply mode, confirmed: stays past the time it would have rolled back', async () => {
    const admin = `${lan.hosts.admin!.ipv4}/32`;
    await withConsole(applyNode, ns(), async (session) => {
      await session.type(`firewall allow ${admin} 3`, 'unless you run "firewall confirm"');
      const confirmed = await session.type('firewall confirm', 'confirmed:');
      expect(confirmed).toContain(`confirmed: allow ${admin}`);
    });
    await new Promise((r) => setTimeout(r, 4500));
    expect(managementSet()).toContain(lan.hosts.admin!.ipv4);
  });
});
