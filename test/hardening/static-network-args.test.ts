// Static networking's input (net/static-network.ts): every value typed into
// `network interface` / `network route` ends up, as root, in a
// systemd-networkd file. Names and prefixes out of range, gateways outside
// their network, routes to nowhere, and attempts to add a line or a section
// to the file (newline, "=", "[") are refused with a clear message, exit 2,
// and nothing is written; a restored store holding such values is refused by
// the setting's shape. A real appliance daemon in a namespace of the test's
// own (veth interfaces), writing under a root of the test's own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { settingProblem } from '../../store/settings.js';
import { networkdFiles } from '../../net/static-network.js';

const NS = `pssa${process.pid}`;
const root = tempHome('ps-static-args-');
const networkDir = join(root, 'etc', 'systemd', 'network');
let node: RunningDaemon;

/** Every file and its content: what "nothing written" compares. */
const written = () => (existsSync(networkDir) ? readdirSync(networkDir).sort().map((name) => `${name}\n${readFileSync(join(networkDir, name), 'utf8')}`) : []);

beforeAll(async () => {
  execFileSync('ip', ['netns', 'add', NS]);
  for (const name of ['lan0', 'lan1']) {
    execFileSync('ip', ['-n', NS, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
  }
  node = await startDaemon({ netns: NS, args: ['--appliance'], env: withoutCI({ PLATFORM_OS_ROOT: root }) });
}, 60_000);
afterAll(async () => {
  await node?.stop();
  execFileSync('ip', ['netns', 'del', NS]);
});

const refusedInput: [string, string[], RegExp][] = [
  ['a name longer than 15 characters', ['interface', 'lan0123456789abc', 'static', '10.250.92.7/24'], /an interface name is 1-15 letters/],
  ['a name with "/"', ['interface', 'lan0/../x', 'static', '10.250.92.7/24'], /an interface name is 1-15 letters/],
  ['a name with ":"', ['interface', 'lan0:1', 'static', '10.250.92.7/24'], /an interface name is 1-15 letters/],
  ['a name with a space', ['interface', 'lan0 lan1', 'static', '10.250.92.7/24'], /an interface name is 1-15 letters/],
  ['a name that adds a line', ['interface', 'lan0\n[Match]', 'static', '10.250.92.7/24'], /an interface name is 1-15 letters/],
  ['a name with "="', ['interface', 'Name=lan0', 'static', '10.250.92.7/24'], /an interface name is 1-15 letters/],
  ['a name that is a networkd glob', ['interface', 'lan[01]', 'static', '10.250.92.7/24'], /an interface name is 1-15 letters/],
  ['a name that is "."', ['interface', '..', 'static', '10.250.92.7/24'], /an interface name is 1-15 letters/],
  ['an interface the node does not have', ['interface', 'nosuch0', 'static', '10.250.92.7/24'], /interface nosuch0 does not exist on this node; it has .*lan0/],
  ['the loopback', ['interface', 'lo', 'static', '10.250.92.7/24'], /loopback interface is not configured here/],
  ['an IPv4 prefix past 32', ['interface', 'lan0', 'static', '10.250.92.7/33'], /prefix length of "10\.250\.92\.7\/33" must be 1-32/],
  ['a prefix of 0 for an address', ['interface', 'lan0', 'static', '10.250.92.7/0'], /must be 1-32/],
  ['an IPv6 prefix past 128', ['interface', 'lan0', 'static', '2001:db8::7/129'], /must be 1-128/],
  ['no prefix', ['interface', 'lan0', 'static', '10.250.92.7'], /has no prefix length/],
  ['an address that adds a line', ['interface', 'lan0', 'static', '10.250.92.7/24\nDNS=192.0.2.53'], /is not an IPv4 or IPv6 address with its prefix|prefix length/],
  ['an address that opens a section', ['interface', 'lan0', 'static', '10.250.92.7/24[Route]'], /prefix length/],
  ['an address with "="', ['interface', 'lan0', 'static', 'Address=10.250.92.7/24'], /not an IPv4 or IPv6 address with its prefix/],
  ['a network address', ['interface', 'lan0', 'static', '10.250.92.0/24'], /is the network address of 10\.250\.92\.0\/24/],
  ['a broadcast address', ['interface', 'lan0', 'static', '10.250.92.255/24'], /is the broadcast address/],
  ['a loopback address', ['interface', 'lan0', 'static', '127.0.0.5/8'], /loopback, not an interface's address/],
  ['a multicast address', ['interface', 'lan0', 'static', '239.1.1.1/24'], /multicast/],
  ['a gateway outside the network', ['interface', 'lan0', 'static', '10.250.92.7/24', 'gateway', '10.250.93.1'], /gateway 10\.250\.93\.1 is outside 10\.250\.92\.0\/24/],
  ['a gateway of the other family', ['interface', 'lan0', 'static', '10.250.92.7/24', 'gateway', '2001:db8::1'], /an IPv6 gateway for the IPv4 address/],
  ['the address as its own gateway', ['interface', 'lan0', 'static', '10.250.92.7/24', 'gateway', '10.250.92.7'], /the interface's own address/],
  ['a gateway that adds a line', ['interface', 'lan0', 'static', '10.250.92.7/24', 'gateway', '10.250.92.1\nDNS=192.0.2.53'], /<gateway-ip>: "10\.250\.92\.1\\nDNS=192\.0\.2\.53" is not an IPv4 or IPv6 address/],
  ['a gateway without its address', ['interface', 'lan0', 'static', '10.250.92.7/24', 'gateway'], /gateway: give its address/],
  ['a word other than gateway', ['interface', 'lan0', 'static', '10.250.92.7/24', 'router', '10.250.92.1'], /"router" is not one of gateway/],
  ['an address with dhcp', ['interface', 'lan0', 'dhcp', '10.250.92.7/24'], /takes no address/],
  ['static without an address', ['interface', 'lan0', 'static'], /give the address/],
  ['a confirmation bound out of range', ['interface', 'lan0', 'static', '10.250.92.7/24', '--confirm-within', '99999'], /outside 2\.\.3600/],
  ['a route to nowhere', ['route', 'add', '10.99.0.0/16', 'via', '203.0.113.1'], /no configured static network holds 203\.0\.113\.1, so the route would lead nowhere/],
  ['a route destination with host bits', ['route', 'add', '10.99.0.1/16', 'via', '10.250.92.1'], /bits set past its prefix; the network is 10\.99\.0\.0\/16/],
  ['a route prefix past 32', ['route', 'add', '10.99.0.0/40', 'via', '10.250.92.1'], /must be 0-32/],
  ['a route destination that adds a line', ['route', 'add', '10.99.0.0/16\n[Network]', 'via', '10.250.92.1'], /prefix length|not an IPv4/],
  ['a route without "via"', ['route', 'add', '10.99.0.0/16', 'to', '10.250.92.1'], /"to" is not one of via/],
  ['deleting a route that is not there', ['route', 'del', '10.99.0.0/16'], /no static route to 10\.99\.0\.0\/16/],
];

describe('static networking refuses bad input, and writes nothing', () => {
  for (const [what, words, message] of refusedInput) {
    it(what, async () => {
      const before = written();
      const result = await node.platform(['network', ...words]);
      expect(result.stderr).toMatch(message);
      // One line: a newline typed into a value is shown escaped, never as a line of its own.
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.status).toBe(2);
      expect(written()).toEqual(before);
      expect(JSON.parse((await node.platform(['--json', 'network', 'interfaces'])).stdout).pendingConfirmation).toBeNull();
    });
  }

  it('refuses what clashes with what is configured: overlapping networks, a route twice, a route whose way out goes', async () => {
    expect((await node.platform(['network', 'interface', 'lan0', 'static', '10.250.92.7/24'])).status).toBe(0);
    await node.platform(['network', 'confirm']);
    expect((await node.platform(['network', 'route', 'add', '10.99.0.0/16', 'via', '10.250.92.1'])).status).toBe(0);
    await node.platform(['network', 'confirm']);
    const before = written();
    const clashes: [string[], RegExp][] = [
      [['interface', 'lan1', 'static', '10.250.92.130/25'], /overlapping networks/],
      [['route', 'add', '10.99.0.0/16', 'via', '10.250.92.2'], /10\.99\.0\.0\/16 is already routed via 10\.250\.92\.1/],
      [['route', 'add', '10.99.0.0/16', 'via', '10.250.92.7'], /already routed/],
      [['route', 'add', '10.98.0.0/16', 'via', '10.250.92.7'], /this node's own address on lan0/],
      [['route', 'del', '10.99.0.0/16', 'via', '10.250.92.2'], /no static route to 10\.99\.0\.0\/16 via 10\.250\.92\.2/],
      [['interface', 'lan0', 'static', '10.250.94.7/24'], /route 10\.99\.0\.0\/16 via 10\.250\.92\.1: no configured static network holds/],
      [['interface', 'lan0', 'static', '10.250.92.7/24'], /lan0 is already 10\.250\.92\.7\/24/],
    ];
    for (const [words, message] of clashes) {
      const result = await node.platform(['network', ...words]);
      expect(result.stderr, words.join(' ')).toMatch(message);
      expect(result.status, words.join(' ')).toBe(2);
      expect(written()).toEqual(before);
    }
  });
});

describe('a restored store holding hostile values', () => {
  const stored = (value: unknown) => settingProblem('network.static', JSON.stringify(value));
  const eth = (name: string, cidr = '192.0.2.7/24', gateway?: string) => ({ interfaces: [{ name, dhcp: false, addresses: [{ cidr, ...(gateway ? { gateway } : {}) }] }], routes: [] });

  it('is refused by the setting\'s shape: names and values that would add lines or sections', () => {
    expect(stored(eth('lan0'))).toBeUndefined();
    expect(stored(eth('lan0\n[Match]'))).toMatch(/not an interface name/);
    expect(stored(eth('lan*'))).toMatch(/not an interface name/);
    expect(stored(eth('lan0', '192.0.2.7/24\nDNS=1.1.1.1'))).toMatch(/not an address or a network/);
    expect(stored(eth('lan0', '192.0.2.7'))).toMatch(/not address\/prefix/);
    expect(stored(eth('lan0', '192.0.2.7/24', '192.0.2.1\n[Route]'))).toMatch(/not an IP address/);
    expect(stored({ interfaces: [], routes: [{ destination: '10.0.0.0/8', gateway: '10.0.0.1', extra: 1 }] })).toMatch(/extra|Unrecognized/i);
    expect(stored({ interfaces: Array.from({ length: 33 }, (_, i) => eth(`lan${i}`).interfaces[0]), routes: [] })).toMatch(/interfaces/);
  });

  it('is checked again by the generator before a file is written: a gateway outside, a route to nowhere', () => {
    expect(() => networkdFiles(eth('lan0', '192.0.2.7/24', '198.51.100.1'))).toThrow(/outside 192\.0\.2\.0\/24/);
    expect(() => networkdFiles({ ...eth('lan0'), routes: [{ destination: '10.0.0.0/8', gateway: '203.0.113.1' }] })).toThrow(/lead nowhere/);
  });
});
