// Static networking: the generator (store → systemd-networkd files) exactly,
// and the real daemon doing a person's changes. The daemons run in a network
// namespace of the test's own whose interfaces (veth pairs) are the node's;
// the appliance writes under a root of the test's own (PLATFORM_OS_ROOT),
// where networkctl is not run: this machine's networking is never touched.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { removeStale } from '../support/netns.js';
import { until } from '../support/until.js';
import { checkStaticNetwork, networkdFiles } from '../../net/static-network.js';

const NS = `psst${process.pid}`;
const ip = (...args: string[]) => execFileSync('ip', ['-n', NS, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
const root = tempHome('ps-static-root-');
const networkDir = join(root, 'etc', 'systemd', 'network');
let appliance: RunningDaemon;
let embedded: RunningDaemon;
/** The session of an administrator who came in over SSH on lan1's address. */
const overSsh = { ...withoutCI(), SSH_CONNECTION: '10.250.91.50 40000 10.250.91.2 22' };

beforeAll(async () => {
  removeStale('psst');
  execFileSync('ip', ['netns', 'add', NS]);
  ip('link', 'set', 'lo', 'up');
  for (const [name, cidr] of [['lan0', '10.250.90.2/24'], ['lan1', '10.250.91.2/24'], ['lan2', '']] as const) {
    ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
    ip('link', 'set', `${name}p`, 'up');
    ip('link', 'set', name, 'up');
    if (cidr) ip('addr', 'add', cidr, 'dev', name);
  }
  appliance = await startDaemon({ netns: NS, args: ['--appliance'], env: withoutCI({ PLATFORM_OS_ROOT: root }) });
  embedded = await startDaemon({ netns: NS, env: withoutCI({ PLATFORM_OS_ROOT: root }) });
}, 60_000);
afterAll(async () => {
  await appliance?.stop();
  await embedded?.stop();
  execFileSync('ip', ['netns', 'del', NS]);
});

describe('the generator', () => {
  it('writes one file per interface, the routes with the interface whose network holds their gateway', () => {
    const files = networkdFiles({
      interfaces: [
        { name: 'eth1', dhcp: false, addresses: [{ cidr: '192.0.2.10/24', gateway: '192.0.2.1' }, { cidr: '2001:db8::10/64', gateway: 'fe80::1' }] },
        { name: 'eth2', dhcp: true, addresses: [] },
      ],
      routes: [{ destination: '198.51.100.0/24', gateway: '192.0.2.254' }],
    });
    expect(files).toEqual([
      {
        name: '10-platform-eth1.network',
        content: [
          '# Written by platformd from "network interface" and "network route"; change it with those commands.',
          '[Match]',
          'Name=eth1',
          '',
          '[Network]',
          'DHCP=no',
          'Address=192.0.2.10/24',
          'Gateway=192.0.2.1',
          'Address=2001:db8::10/64',
          'Gateway=fe80::1',
          '',
          '[Route]',
          'Destination=198.51.100.0/24',
          'Gateway=192.0.2.254',
          '',
        ].join('\n'),
      },
      {
        name: '10-platform-eth2.network',
        content: ['# Written by platformd from "network interface" and "network route"; change it with those commands.', '[Match]', 'Name=eth2', '', '[Network]', 'DHCP=yes', ''].join('\n'),
      },
    ]);
  });

  it('checks a configuration from the store again: a gateway outside, overlapping networks, a route to nowhere', () => {
    const eth1 = { name: 'eth1', dhcp: false, addresses: [{ cidr: '192.0.2.10/24' }] };
    expect(() => checkStaticNetwork({ interfaces: [{ ...eth1, addresses: [{ cidr: '192.0.2.10/24', gateway: '192.0.3.1' }] }], routes: [] })).toThrow(/outside 192\.0\.2\.0\/24/);
    expect(() => checkStaticNetwork({ interfaces: [eth1, { name: 'eth2', dhcp: false, addresses: [{ cidr: '192.0.2.20/25' }] }], routes: [] })).toThrow(/overlapping/);
    expect(() => checkStaticNetwork({ interfaces: [eth1], routes: [{ destination: '10.0.0.0/8', gateway: '203.0.113.1' }] })).toThrow(/lead nowhere/);
    expect(() => networkdFiles({ interfaces: [{ ...eth1, name: 'eth*' }], routes: [] })).toThrow(/interface name/);
  });
});

const files = () => (existsSync(networkDir) ? readdirSync(networkDir).sort() : []);
const fileOf = (name: string) => readFileSync(join(networkDir, `10-platform-${name}.network`), 'utf8');

/**
 * Debian's own systemd-networkd, run in the test's namespace with `dir` as
 * its /etc/systemd/network (a private mount namespace: /run/systemd on a
 * tmpfs, /sys read-only so that it does not wait for udev), until `done`.
 */
async function withNetworkd(ns: string, dir: string, done: () => boolean): Promise<string> {
  const script = 'mount --make-rprivate / && mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/netif && chown systemd-network:systemd-network /run/systemd/netif && ' +
    `mount --bind "$0" /etc/systemd/network && mount -o remount,ro,bind /sys && exec /lib/systemd/systemd-networkd`;
  const child = spawn('ip', ['netns', 'exec', ns, 'unshare', '-m', 'sh', '-c', script, dir], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  try {
    await until('systemd-networkd to configure the interface', () => done() || child.exitCode !== null, 20_000, 100, () => log);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
  }
  return log;
}

describe("systemd-networkd's own reading of the generated files", () => {
  const ns = `psnd${process.pid}`;
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'lanx', 'type', 'veth', 'peer', 'name', 'lanxp']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lanxp', 'up']);
  });
  afterAll(() => execFileSync('ip', ['netns', 'del', ns]));

  it('puts the addresses, the default gateway and the route into the kernel', async () => {
    const dir = join(tempHome('ps-networkd-'), 'network');
    mkdirSync(dir);
    for (const file of networkdFiles({
      interfaces: [{ name: 'lanx', dhcp: false, addresses: [{ cidr: '192.0.2.10/24', gateway: '192.0.2.1' }, { cidr: '2001:db8::10/64' }] }],
      routes: [{ destination: '198.51.100.0/24', gateway: '192.0.2.254' }],
    })) writeFileSync(join(dir, file.name), file.content);
    const routes = () => execFileSync('ip', ['-n', ns, 'route'], { encoding: 'utf8' });
    const log = await withNetworkd(ns, dir, () => routes().includes('198.51.100.0/24 via 192.0.2.254'));
    expect(log).toContain('lanx: Configuring with /etc/systemd/network/10-platform-lanx.network');
    expect(log).not.toMatch(/Unknown (key|section)|Failed to parse/i);
    const addresses = execFileSync('ip', ['-n', ns, 'addr', 'show', 'lanx'], { encoding: 'utf8' });
    expect(addresses).toContain('inet 192.0.2.10/24');
    expect(addresses).toContain('inet6 2001:db8::10/64');
    expect(routes()).toMatch(/^default via 192\.0\.2\.1 dev lanx/m);
  }, 30_000);
});

describe('on an appliance (files under a test root)', () => {
  it('writes a static address with its gateway, shows it configured and pending, and keeps it when confirmed', async () => {
    const set = await appliance.platform(['network', 'interface', 'lan0', 'static', '10.250.90.7/24', 'gateway', '10.250.90.1']);
    expect(set.stderr).toBe('');
    expect(set.status).toBe(0);
    expect(set.stdout).toContain('unless you run "network confirm"');
    expect(fileOf('lan0')).toContain('[Match]\nName=lan0\n\n[Network]\nDHCP=no\nAddress=10.250.90.7/24\nGateway=10.250.90.1\n');
    const shown = JSON.parse((await appliance.platform(['--json', 'network', 'interfaces'])).stdout);
    expect(shown.mode).toBe('apply');
    const lan0 = shown.interfaces.find((i: { interface: string }) => i.interface === 'lan0');
    expect(lan0.configured).toBe('10.250.90.7/24 gateway 10.250.90.1');
    expect(lan0.live).toContain('10.250.90.2/24');
    expect(shown.pendingConfirmation.description).toBe('lan0 static 10.250.90.7/24 gateway 10.250.90.1');
    // One change at a time.
    const second = await appliance.platform(['network', 'route', 'add', '10.99.0.0/16', 'via', '10.250.90.254']);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain('network confirm');
    expect((await appliance.platform(['network', 'confirm'])).stdout).toContain('confirmed: lan0 static');
    expect(JSON.parse((await appliance.platform(['--json', 'network', 'interfaces'])).stdout).pendingConfirmation).toBeNull();
  });

  it('adds a route through the configured network, and an unconfirmed change rolls back by itself', async () => {
    expect((await appliance.platform(['network', 'route', 'add', '10.99.0.0/16', 'via', '10.250.90.254', '--confirm-within', '2'])).status).toBe(0);
    expect(fileOf('lan0')).toContain('[Route]\nDestination=10.99.0.0/16\nGateway=10.250.90.254\n');
    await until('the route rolls back', () => !fileOf('lan0').includes('[Route]'), 15_000);
    const plan = JSON.parse((await appliance.platform(['--json', 'network', 'plan'])).stdout);
    expect(plan.routes).toEqual([]);
    expect((await appliance.platform(['mail', 'list'])).stdout).toContain('network-rolled-back');
    expect(fileOf('lan0')).toContain('Address=10.250.90.7/24');
  });

  it('refuses a change that takes away the address the SSH session comes in on, and writes nothing', async () => {
    const before = files();
    const cut = await appliance.platform(['network', 'interface', 'lan1', 'static', '10.250.91.9/24'], { env: overSsh });
    expect(cut.status).toBe(1);
    expect(cut.stderr).toContain('your SSH session comes in on lan1 at 10.250.91.2');
    expect(files()).toEqual(before);
    // Keeping the session's address is allowed (and still a confirmed commit).
    const kept = await appliance.platform(['network', 'interface', 'lan1', 'static', '10.250.91.2/24', 'gateway', '10.250.91.1'], { env: overSsh });
    expect(kept.status).toBe(0);
    expect((await appliance.platform(['network', 'rollback'])).stdout).toContain('rolled back: lan1 static');
    expect(files()).toEqual(before);
  });

  it('switches an interface to DHCP, and the routes through it must go first', async () => {
    expect((await appliance.platform(['network', 'route', 'add', '10.98.0.0/16', 'via', '10.250.90.254'])).status).toBe(0);
    await appliance.platform(['network', 'confirm']);
    const stranded = await appliance.platform(['network', 'interface', 'lan0', 'dhcp']);
    expect(stranded.status).toBe(2);
    expect(stranded.stderr).toContain('lead nowhere');
    expect((await appliance.platform(['network', 'route', 'del', '10.98.0.0/16'])).status).toBe(0);
    await appliance.platform(['network', 'confirm']);
    expect((await appliance.platform(['network', 'interface', 'lan0', 'dhcp'])).status).toBe(0);
    await appliance.platform(['network', 'confirm']);
    expect(fileOf('lan0')).toContain('DHCP=yes');
    expect(fileOf('lan0')).not.toContain('Address=');
  });
});

describe('a change left unconfirmed when platformd stops', () => {
  it('is put back when it starts again (a reboot does not keep it)', async () => {
    const home = tempHome('ps-static-restart-');
    const ownRoot = tempHome('ps-static-restart-root-');
    const ownFile = () => readFileSync(join(ownRoot, 'etc', 'systemd', 'network', '10-platform-lan2.network'), 'utf8');
    const options = { home, netns: NS, args: ['--appliance'], env: withoutCI({ PLATFORM_OS_ROOT: ownRoot }) };
    let daemon = await startDaemon(options);
    try {
      expect((await daemon.platform(['network', 'interface', 'lan2', 'static', '10.250.93.7/24'])).status).toBe(0);
      await daemon.platform(['network', 'confirm']);
      expect((await daemon.platform(['network', 'interface', 'lan2', 'static', '10.250.93.8/24', 'gateway', '10.250.93.1'])).status).toBe(0);
      expect(ownFile()).toContain('Address=10.250.93.8/24');
      await daemon.stop({ keepHome: true });
      daemon = await startDaemon(options);
      expect(ownFile()).toContain('Address=10.250.93.7/24');
      expect(ownFile()).not.toContain('Gateway=');
      const shown = JSON.parse((await daemon.platform(['--json', 'network', 'interfaces'])).stdout);
      expect(shown.pendingConfirmation).toBeNull();
      expect(shown.interfaces.find((i: { interface: string }) => i.interface === 'lan2').configured).toBe('10.250.93.7/24');
      expect((await daemon.platform(['mail', 'list'])).stdout).toContain('network-rolled-back');
    } finally {
      await daemon.stop();
    }
  }, 60_000);
});

describe('in the embedded default (plan mode)', () => {
  it('shows the files it would write and writes none', async () => {
    const before = files().map((name) => readFileSync(join(networkDir, name), 'utf8'));
    const set = await embedded.platform(['network', 'interface', 'lan2', 'static', '2001:db8:5::7/64', 'gateway', 'fe80::1']);
    expect(set.status).toBe(0);
    expect(set.stdout).toContain("plan mode (embedded default): this machine's networking is not changed");
    expect(set.stdout).toContain('--- /etc/systemd/network/10-platform-lan2.network');
    expect(set.stdout).toContain('Address=2001:db8:5::7/64\nGateway=fe80::1');
    expect(files().map((name) => readFileSync(join(networkDir, name), 'utf8'))).toEqual(before);
    expect(execFileSync('ip', ['-n', NS, '-6', 'addr', 'show', 'dev', 'lan2'], { encoding: 'utf8' })).not.toContain('2001:db8:5::7');
    expect((await embedded.platform(['network', 'confirm'])).stdout).toContain('confirmed');
    expect((await embedded.platform(['network', 'plan'])).stdout).toContain('Name=lan2');
  });
});
