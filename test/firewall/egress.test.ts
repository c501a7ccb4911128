// The egress policy: the output chain the compiler prints (strict vs open,
// a configured destination present, a removed one gone), `explain out` from
// the same destinations, and the compiled table loaded by a real nft in a
// network namespace: a configured destination is reached, anything else
// (another port, another host, a resolver not configured) is dropped.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { compile, DEFAULT_LIMITS, explainOut, policyOf, replaceTableScript, type FirewallInput } from '../../firewall/compiler.js';
import { egressVerdict, refusalMessage, type ResolvedDestination } from '../../net/egress.js';
import { connectOut } from '../../net/connector.js';
import { createLan, reachable, removeStale, startListeners, type Lan, type Listeners } from '../support/netns.js';

const backup: ResolvedDestination = { host: 'backup.example.net', port: 22, protocol: 'tcp', why: 'backup location "nightly"', addresses: ['10.251.1.3', 'fd00:251:1::3'] };
const resolver: ResolvedDestination = { host: '10.251.1.4', port: 53, protocol: 'udp', why: 'DNS server 10.251.1.4', addresses: ['10.251.1.4'] };
const base: FirewallInput = { roles: ['webproxy'], listening: new Set(), peers: [], management: [], limits: DEFAULT_LIMITS };
const strict = (destinations: ResolvedDestination[]): FirewallInput => ({ ...base, egress: { mode: 'strict', destinations } });

describe('the compiled output chain', () => {
  it('has no output chain in open mode: the table is the inbound one alone', () => {
    expect(compile({ ...base, egress: { mode: 'open', destinations: [backup] } })).toBe(compile(base));
    expect(compile(base)).not.toContain('chain output');
  });

  it('drops by default in strict mode and lets out loopback, replies and each configured destination', () => {
    const text = compile(strict([backup, resolver]));
    expect(text).toContain('type filter hook output priority filter; policy drop;');
    expect(text).toContain('oif "lo" accept');
    expect(text).toMatch(/chain output \{[^}]*ct state established,related accept/);
    expect(text).toMatch(/set egress_tcp_v4 \{\n\s+type ipv4_addr \. inet_service\n\s+elements = \{ 10\.251\.1\.3 \. 22 \}/);
    expect(text).toMatch(/set egress_tcp_v6 \{\n[^}]*elements = \{ fd00:251:1:0:0:0:0:3 \. 22 \}/);
    expect(text).toMatch(/set egress_udp_v4 \{\n[^}]*elements = \{ 10\.251\.1\.4 \. 53 \}/);
    expect(text).toContain('ip daddr . tcp dport @egress_tcp_v4 accept');
    // A DHCP node renews its lease in strict mode too.
    expect(text).toContain('udp dport { 67, 547 } accept');
  });

  it('drops a removed destination from the sets, and never prints an address that does not parse', () => {
    const text = compile(strict([resolver]));
    expect(text).not.toContain('10.251.1.3');
    const hostile = compile(strict([{ ...backup, addresses: ['10.0.0.1 } ; flush ruleset ; {', '10.251.1.9'] }]));
    expect(hostile).not.toContain('flush');
    expect(hostile).toContain('10.251.1.9 . 22');
  });

  it('explains an outbound connection from the same destinations', () => {
    const policy = policyOf(strict([backup, resolver]));
    expect(explainOut(policy, 'backup.example.net', 22, 'tcp')).toEqual({ allowed: true, reason: 'allowed: backup location "nightly"' });
    expect(explainOut(policy, '10.251.1.3', 22, 'tcp').allowed).toBe(true);
    expect(explainOut(policy, '10.251.1.3', 21, 'tcp').reason).toBe('dropped by the egress policy (firewall egress strict): 10.251.1.3:21/tcp is not a configured destination');
    expect(explainOut(policy, '10.251.1.4', 53, 'tcp').allowed).toBe(false);
    expect(explainOut(policy, '127.0.0.1', 9, 'tcp').allowed).toBe(true);
    expect(explainOut(policyOf(base), '192.0.2.1', 9, 'tcp').reason).toMatch(/open/);
  });

  it('makes the connector refuse at once, naming the policy, what strict mode does not allow', async () => {
    const policy = { mode: 'strict' as const, destinations: [backup] };
    await expect(connectOut('192.0.2.7', 22, { egress: { bypass: [], policy } })).rejects.toThrow(refusalMessage('192.0.2.7', 22));
    expect(refusalMessage('192.0.2.7', 22)).toBe("refused by this node's egress policy (firewall egress strict): 192.0.2.7:22 is not a configured destination; see firewall egress");
    expect(egressVerdict(policy, 'BACKUP.example.net', 22, 'tcp').allowed).toBe(true);
  });
});

describe('strict egress in a network namespace, with a real nft', () => {
  const PREFIX = `pseg${process.pid % 10000}`;
  let lan: Lan;
  let target: Listeners;
  let other: Listeners;

  beforeAll(async () => {
    removeStale(PREFIX);
    lan = createLan(PREFIX, '10.252.1', 'fd00:252:1', { node: 2, target: 3, other: 4 });
    target = await startListeners(lan.hosts.target!.ns, ['22/tcp', '21/tcp', '53/udp']);
    other = await startListeners(lan.hosts.other!.ns, ['22/tcp', '53/udp']);
  }, 30_000);

  afterAll(async () => {
    await target?.stop();
    await other?.stop();
    lan?.destroy();
  });

  const load = (input: FirewallInput) => execFileSync('ip', ['netns', 'exec', lan.hosts.node!.ns, 'nft', '-f', '-'], { input: replaceTableScript(compile(input)) });

  it('reaches a configured destination, drops the rest, and drops a destination once removed', async () => {
    const ns = lan.hosts.node!.ns;
    const t = lan.hosts.target!.ipv4;
    const o = lan.hosts.other!.ipv4;
    const configured: ResolvedDestination[] = [
      { host: 'backup.example.net', port: 22, protocol: 'tcp', why: 'backup', addresses: [t] },
      { host: t, port: 53, protocol: 'udp', why: 'DNS server', addresses: [t] },
    ];
    load(strict(configured));
    expect((await reachable(ns, t, ['22/tcp', '21/tcp', '53/udp'])).sort()).toEqual(['22/tcp', '53/udp']);
    // DNS only to the configured server; nothing to a host not in the configuration.
    expect(await reachable(ns, o, ['22/tcp', '53/udp'])).toEqual([]);
    // The backup location deleted: its address no longer reachable.
    load(strict(configured.slice(1)));
    expect(await reachable(ns, t, ['22/tcp'])).toEqual([]);
    // Open again: everything goes out.
    load({ ...base, egress: { mode: 'open', destinations: [] } });
    expect((await reachable(ns, o, ['22/tcp', '53/udp'])).sort()).toEqual(['22/tcp', '53/udp']);
  }, 30_000);
});
