// The compiler: a pure function from the node's situation (roles, running
// services, cluster peers, management sources, limits) to the text of one
// nftables table owned by the product. Every value that reaches the text is
// parsed and re-printed from its parsed form first, so no input can inject
// nft syntax.

import { FirewallInputError, parseNetwork, type Network } from '../net/address.js';
import { egressVerdict, type EgressPolicy, type EgressVerdict, type ResolvedDestination } from '../net/egress.js';
import { defaultPort, reachesService, servicesFor } from '../catalog/derive.js';
import type { RoleName } from '../catalog/roles.js';
import { SERVICES, type PortSpec, type Scope, type ServiceSpec } from '../catalog/services.js';

export const TABLE = 'platform';
export const FAMILY = 'inet';

// The limits are a setting of the store, whose table declares their shape.
import { LIMIT_RANGES, type Limits } from '../store/settings.js';

export const DEFAULT_LIMITS: Limits = {
  publicPerSecond: 50,
  publicBurst: 100,
  managementPerMinute: 30,
  managementBurst: 10,
  pingPerSecond: 10,
};

/** Sane ranges for each limit; values outside are refused. The settings table declares them (the same bounds on read). */
export { LIMIT_RANGES };

export interface FirewallInput {
  roles: readonly RoleName[];
  /**
   * Ports seen listening, as "port/protocol" keys. A port opens only while
   * something listens on it: a stopped service's ports close.
   */
  listening: ReadonlySet<string>;
  /** The cluster's members: each may reach the cluster-scoped services its roles have a flow to. */
  peers: readonly Peer[];
  /** Addresses or networks allowed to reach management ports; empty = anyone (rate-limited). */
  management: readonly string[];
  limits: Limits;
  /** Where a service listens on another port than the catalog's (the embedded default's 9443 for 443). */
  portMap?: Readonly<Record<number, number>>;
  /** Services open to anyone for now whatever their scope (the cluster agent while the node is joinable). */
  openToAll?: readonly string[];
  /** The egress policy (firewall egress), its destinations' names resolved; absent = open. */
  egress?: ResolvedEgress;
}

export interface ResolvedEgress extends EgressPolicy {
  destinations: readonly ResolvedDestination[];
}

const OPEN_EGRESS: ResolvedEgress = { mode: 'open', destinations: [] };

export interface Peer {
  address: string;
  roles: readonly RoleName[];
  /** The primary reaches every node's cluster agent (add, provision, run). */
  primary?: boolean;
}


/** The services whose ports only cluster members reach, each with its own peer sets. */
export const CLUSTER_SERVICES = SERVICES.filter((s) => s.scope === 'cluster').map((s) => s.name);

/**
 * Which members may reach a cluster-scoped service of a node with `roles`:
 * those the catalog gives a flow to it (catalog/derive.ts flowsBetween).
 */
export function peerMayReach(peer: Peer, service: string, roles: readonly RoleName[]): boolean {
  return reachesService(peer, service, { roles });
}

// Addresses are parsed into a canonical form before they reach any ruleset (net/address.ts).
export { FirewallInputError, parseNetwork, type Network };

export function validateLimits(limits: Limits): Limits {
  for (const [key, [min, max]] of Object.entries(LIMIT_RANGES) as [keyof Limits, readonly [number, number]][]) {
    const value = limits[key];
    if (!Number.isInteger(value) || value < min || value > max) throw new FirewallInputError(`limit ${key} must be a whole number ${min}..${max}, not ${value}`);
  }
  return limits;
}

// ---------------------------------------------------------------------------
// The policy: what is open, to whom. The compiler prints it; `explain`
// evaluates it for one packet, so the two can never disagree.

export interface OpenPort {
  service: ServiceSpec;
  port: PortSpec;
  scope: Scope;
}

export interface ClosedPort {
  service: ServiceSpec;
  port: PortSpec;
  reason: string;
}

export interface Policy {
  open: OpenPort[];
  closed: ClosedPort[];
  /** Per cluster-scoped service: the member addresses that may reach it. */
  peers: Record<string, Network[]>;
  management: Network[];
  limits: Limits;
  egress: ResolvedEgress;
}

export function policyOf(input: FirewallInput): Policy {
  const members = input.peers.map((p) => ({ ...p, network: parseNetwork(p.address) }));
  const peers = Object.fromEntries(CLUSTER_SERVICES.map((service) => [service, dedupe(members.filter((m) => peerMayReach(m, service, input.roles)).map((m) => m.network))]));
  const management = dedupe(input.management.map(parseNetwork));
  const limits = validateLimits({ ...input.limits });
  const open: OpenPort[] = [];
  const closed: ClosedPort[] = [];
  // Services that are always open (SSH) are there even before a role is chosen.
  const services = [...new Set([...SERVICES.filter((s) => s.alwaysOpen), ...servicesFor(input.roles)])];
  for (const service of services) {
    for (const catalogPort of service.ports) {
      const port = { ...catalogPort, port: input.portMap?.[catalogPort.port] ?? catalogPort.port };
      const scope = input.openToAll?.includes(service.name) ? 'public' : service.scope;
      if (service.alwaysOpen || input.listening.has(`${port.port}/${port.protocol}`)) open.push({ service, port, scope });
      else closed.push({ service, port, reason: `service ${service.name} is not listening on ${port.port}/${port.protocol}` });
    }
  }
  return { open, closed, peers, management, limits, egress: canonicalEgress(input.egress ?? OPEN_EGRESS) };
}

/** Every resolved address re-printed from its parsed form; what does not parse never reaches the ruleset. */
function canonicalEgress(egress: ResolvedEgress): ResolvedEgress {
  const canonical = (address: string) => {
    try {
      const network = parseNetwork(address);
      return network.text.includes('/') ? [] : [network.text];
    } catch {
      return [];
    }
  };
  return { mode: egress.mode, destinations: egress.destinations.map((d) => ({ ...d, addresses: [...new Set(d.addresses.flatMap(canonical))] })) };
}

function dedupe(networks: Network[]): Network[] {
  const seen = new Map(networks.map((n) => [n.text, n]));
  return [...seen.values()];
}

// ---------------------------------------------------------------------------
// Printing.

const portList = (ports: number[]) => (ports.length === 1 ? String(ports[0]) : `{ ${ports.join(', ')} }`);

function setDeclaration(name: string, family: 4 | 6, elements: Network[]): string {
  const type = family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const items = elements.filter((n) => n.family === family).map((n) => n.text);
  return [
    `  set ${name} {`,
    `    type ${type}`,
    `    flags interval`,
    ...(items.length ? [`    auto-merge`, `    elements = { ${items.join(', ')} }`] : [`    auto-merge`]),
    `  }`,
  ].join('\n');
}

function meterDeclaration(name: string, family: 4 | 6): string {
  return [`  set ${name} {`, `    type ${family === 4 ? 'ipv4_addr' : 'ipv6_addr'}`, `    flags dynamic, timeout`, `    timeout 1m`, `    size 65536`, `  }`].join('\n');
}

/** The whole table, to be loaded with `nft -f` after deleting the old one in the same transaction. */
export function compile(input: FirewallInput): string {
  return compilePolicy(policyOf(input));
}

export function compilePolicy(policy: Policy): string {
  const { limits } = policy;
  const byScope = (scope: Scope, protocol: 'tcp' | 'udp') =>
    [...new Set(policy.open.filter((o) => o.scope === scope && o.port.protocol === protocol).map((o) => o.port.port))].sort((a, b) => a - b);

  const rules: string[] = [
    'ct state established,related accept',
    'ct state invalid drop',
    'iif "lo" accept',
    // IPv6 needs neighbour discovery and router messages to work at all.
    'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert, mld-listener-query } accept',
    'icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept',
    'icmp type { destination-unreachable, time-exceeded, parameter-problem } accept',
    `icmp type echo-request limit rate ${limits.pingPerSecond}/second accept`,
    `icmpv6 type echo-request limit rate ${limits.pingPerSecond}/second accept`,
  ];

  for (const protocol of ['tcp', 'udp'] as const) {
    const management = byScope('management', protocol);
    if (management.length) {
      const dport = `${protocol} dport ${portList(management)}`;
      if (policy.management.length) {
        rules.push(`ip saddr @management_v4 ${dport} accept`, `ip6 saddr @management_v6 ${dport} accept`);
      } else {
        const rate = `limit rate over ${limits.managementPerMinute}/minute burst ${limits.managementBurst} packets`;
        rules.push(
          `${dport} ct state new update @flood_management_v4 { ip saddr ${rate} } drop`,
          `${dport} ct state new update @flood_management_v6 { ip6 saddr ${rate} } drop`,
          `${dport} accept`,
        );
      }
    }
    for (const service of CLUSTER_SERVICES) {
      const ports = [...new Set(policy.open.filter((o) => o.scope === 'cluster' && o.service.name === service && o.port.protocol === protocol).map((o) => o.port.port))].sort((a, b) => a - b);
      if (ports.length) rules.push(`ip saddr @peers_${service}_v4 ${protocol} dport ${portList(ports)} accept`, `ip6 saddr @peers_${service}_v6 ${protocol} dport ${portList(ports)} accept`);
    }
    const open = byScope('public', protocol);
    if (open.length) {
      const dport = `${protocol} dport ${portList(open)}`;
      const rate = `limit rate over ${limits.publicPerSecond}/second burst ${limits.publicBurst} packets`;
      rules.push(
        `${dport} ct state new update @flood_public_v4 { ip saddr ${rate} } drop`,
        `${dport} ct state new update @flood_public_v6 { ip6 saddr ${rate} } drop`,
        `${dport} accept`,
      );
    }
  }

  return [
    `table ${FAMILY} ${TABLE} {`,
    ...CLUSTER_SERVICES.flatMap((service) => [setDeclaration(`peers_${service}_v4`, 4, policy.peers[service]!), setDeclaration(`peers_${service}_v6`, 6, policy.peers[service]!)]),
    setDeclaration('management_v4', 4, policy.management),
    setDeclaration('management_v6', 6, policy.management),
    meterDeclaration('flood_public_v4', 4),
    meterDeclaration('flood_public_v6', 6),
    meterDeclaration('flood_management_v4', 4),
    meterDeclaration('flood_management_v6', 6),
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '  }',
    ...egressChain(policy.egress),
    '}',
    '',
  ].join('\n');
}

/** The (address, port) pairs a strict node may open, one set per family and transport. */
const EGRESS_SETS = [4, 6].flatMap((family) => (['tcp', 'udp'] as const).map((protocol) => ({ family: family as 4 | 6, protocol, name: `egress_${protocol}_v${family}` })));

/**
 * Strict egress: an output chain that drops what the configuration does not
 * need. Open egress prints no output chain at all: the table is then exactly
 * what it was before there was an egress policy.
 */
function egressChain(egress: ResolvedEgress): string[] {
  if (egress.mode === 'open') return [];
  const sets = EGRESS_SETS.map(({ family, protocol, name }) => {
    const items = egressElements(egress, family, protocol);
    return [`  set ${name} {`, `    type ${family === 4 ? 'ipv4_addr' : 'ipv6_addr'} . inet_service`, ...(items.length ? [`    elements = { ${items.join(', ')} }`] : []), `  }`].join('\n');
  });
  return [
    ...sets,
    '  chain output {',
    '    type filter hook output priority filter; policy drop;',
    '    ct state established,related accept',
    '    oif "lo" accept',
    // IPv6 needs neighbour discovery to send anything at all.
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, mld-listener-report, mld2-listener-report } accept',
    // A node that got its address by DHCP must renew its lease, or it loses the address.
    `    udp dport { ${defaultPort('dhcp')}, ${defaultPort('dhcpv6')} } accept`,
    ...EGRESS_SETS.map(({ family, protocol, name }) => `    ${family === 4 ? 'ip' : 'ip6'} daddr . ${protocol} dport @${name} accept`),
    '  }',
  ];
}

function egressElements(egress: ResolvedEgress, family: 4 | 6, protocol: 'tcp' | 'udp'): string[] {
  const items = egress.destinations
    .filter((d) => d.protocol === protocol)
    .flatMap((d) => d.addresses.filter((a) => (family === 6) === a.includes(':')).map((a) => `${a} . ${d.port}`));
  return [...new Set(items)].sort();
}

/** `firewall explain out`: what the egress policy does with one outbound connection, from the same destinations. */
export function explainOut(policy: Policy, host: string, port: number, protocol: 'tcp' | 'udp'): EgressVerdict {
  return egressVerdict(policy.egress, host, port, protocol);
}

/** The boot-time ruleset when no last good one exists: default deny, SSH open. */
export function defaultRuleset(): string {
  return replaceTableScript(compile({ roles: [], listening: new Set(), peers: [], management: [], limits: DEFAULT_LIMITS }));
}

/** Loads a table atomically: creating and deleting first makes the delete safe when none exists. */
export function replaceTableScript(tableText: string): string {
  return `add table ${FAMILY} ${TABLE}\ndelete table ${FAMILY} ${TABLE}\n${tableText}`;
}

/** Replaces the peer sets' elements in one transaction: no rule is reloaded. */
export function peerUpdateScript(policy: Policy): string {
  const lines: string[] = [];
  for (const service of CLUSTER_SERVICES) {
    for (const family of [4, 6] as const) {
      const set = `${FAMILY} ${TABLE} peers_${service}_v${family}`;
      lines.push(`flush set ${set}`);
      const items = policy.peers[service]!.filter((n) => n.family === family).map((n) => n.text);
      if (items.length) lines.push(`add element ${set} { ${items.join(', ')} }`);
    }
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Explaining a verdict for one packet, from the same policy.

export interface Verdict {
  allowed: boolean;
  reason: string;
  service?: string;
}

export function explain(policy: Policy, source: string, port: number, protocol: 'tcp' | 'udp'): Verdict {
  const from = parseNetwork(source);
  if (from.text.includes('/')) throw new FirewallInputError('explain needs one source address, not a network');
  const matching = policy.open.filter((o) => o.port.port === port && o.port.protocol === protocol);
  if (matching.length === 0) {
    const closed = policy.closed.find((c) => c.port.port === port && c.port.protocol === protocol);
    if (closed) return { allowed: false, reason: `dropped: ${closed.reason} (catalog: ${closed.service.source})`, service: closed.service.name };
    return { allowed: false, reason: `dropped: no service of this node's roles uses ${port}/${protocol} (default deny)` };
  }
  for (const open of matching) {
    const name = open.service.name;
    if (open.scope === 'public') return { allowed: true, reason: `allowed: ${name} is public (rate-limited per source)`, service: name };
    if (open.scope === 'cluster') {
      if (contains(policy.peers[name] ?? [], from)) return { allowed: true, reason: `allowed: ${from.text} is a cluster member with a flow to ${name}`, service: name };
      return { allowed: false, reason: `dropped: ${name} is cluster-scoped and ${from.text} is not a cluster member with a flow to it`, service: name };
    }
    if (policy.management.length === 0) return { allowed: true, reason: `allowed: ${name} is a management service and no management sources are set (rate-limited per source)`, service: name };
    if (contains(policy.management, from)) return { allowed: true, reason: `allowed: ${from.text} is a management source`, service: name };
    return { allowed: false, reason: `dropped: ${name} is for management sources only and ${from.text} is not one`, service: name };
  }
  return { allowed: false, reason: 'dropped' };
}

function contains(networks: readonly Network[], address: Network): boolean {
  return networks.some((n) => n.family === address.family && inNetwork(address.text, n.text, n.family));
}

function inNetwork(address: string, network: string, family: 4 | 6): boolean {
  const [base, prefixText] = network.split('/');
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  const a = toBigInt(address, family);
  const b = toBigInt(base!, family);
  const shift = BigInt(bits - prefix);
  return a >> shift === b >> shift;
}

function toBigInt(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((acc, octet) => (acc << 8n) + BigInt(Number(octet)), 0n);
  return address.split(':').reduce((acc, group) => (acc << 16n) + BigInt(parseInt(group, 16)), 0n);
}
