// A static address and a route set as an administrator does it, in the
// console of the embedded default (plan mode): the screen shows the
// systemd-networkd files an appliance would write, `network interfaces`
// shows the configuration beside the live addresses and the change awaiting
// confirmation; one change is confirmed, the next is not and rolls back by
// itself at the time the screen said. The node's interfaces are those of a
// namespace of the test's own; the outside witnesses are `ip` (the machine's
// addresses never change), the OS root (nothing is written) and the node's
// own JSON and mailbox.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { until } from '../support/until.js';
import { openConsole } from './console.js';

const NS = `psjs${process.pid}`;
const root = tempHome('ps-journey-static-');
const env = withoutCI({ PLATFORM_OS_ROOT: root });
let node: RunningDaemon;
const lan0 = () => execFileSync('ip', ['-n', NS, 'addr', 'show', 'dev', 'lan0'], { encoding: 'utf8' });

beforeAll(async () => {
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan0p']);
  node = await startDaemon({ netns: NS, env });
  expect((await node.platform(['system', 'setup', '--hostname', 'net01', '--role', 'unified'], { env })).status).toBe(0);
}, 60_000);
afterAll(async () => {
  await node?.stop();
  execFileSync('ip', ['netns', 'del', NS]);
});

describe('static networking in the embedded default', () => {
  it('shows the plan, keeps a confirmed change and rolls back one left unconfirmed', async () => {
    const session = await openConsole(node.home, 'net01', { netns: NS, env });
    try {
      const set = await session.type('network interface lan0 static 10.250.95.7/24 gateway 10.250.95.1', /unless you run "network confirm"/);
      expect(set).toContain("plan mode (embedded default): this machine's networking is not changed");
      expect(set).toContain('--- /etc/systemd/network/10-platform-lan0.network');
      expect(set).toContain('Address=10.250.95.7/24');
      expect(set).toContain('Gateway=10.250.95.1');
      const shown = await session.type('network interfaces', /pending: "lan0 static/);
      expect(shown).toMatch(/lan0\s+\S+\s+.*10\.250\.95\.7\/24 gateway 10\.250\.95\.1/);
      expect(await session.type('network confirm', 'confirmed: lan0 static 10.250.95.7/24 gateway 10.250.95.1')).not.toContain('error');

      const route = await session.type('network route add 10.99.0.0/16 via 10.250.95.254 --confirm-within 3', /rolls back at \d\d:\d\d:\d\d UTC \(in 3 s\)/);
      expect(route).toContain('Destination=10.99.0.0/16');
      const plan = await until('the unconfirmed route to roll back', async () => {
        const data = JSON.parse((await node.platform(['--json', 'network', 'plan'], { env })).stdout) as { routes: unknown[]; files: { content: string }[] };
        return data.routes.length === 0 && data;
      }, 20_000);
      expect(plan.files[0]!.content).toContain('Address=10.250.95.7/24');
      expect(await session.type('network plan', 'Name=lan0')).not.toContain('[Route]');
      expect(await session.type('network rollback', 'no network change is waiting for confirmation')).toBeTruthy();
    } finally {
      await session.close();
    }
    expect((await node.platform(['mail', 'list'], { env })).stdout).toContain('network-rolled-back');
    // Plan mode: neither the machine's addresses nor its files changed.
    expect(lan0()).not.toContain('10.250.95.7');
    expect(existsSync(join(root, 'etc', 'systemd', 'network'))).toBe(false);
  });
});
