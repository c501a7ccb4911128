// The egress policy: which outbound connections this node makes, taken from
// its configuration. `firewall egress open` (the default) lets a node reach
// anything: a freshly installed node must reach what it is being configured
// with. `firewall egress strict` lets out only what the configuration needs,
// once `network requirements` has told the site's firewall what to allow.
// The firewall compiler prints these destinations as nft sets, `firewall
// explain out` and net/connector.ts judge a connection with egressVerdict:
// one list and one function, so the three never disagree.

import { hostname as osHostname } from 'node:os';
import { isIP } from 'node:net';
import { configuredFlow, defaultPort, flowPort, flowsBetween } from '../catalog/derive.js';
import type { Protocol } from '../catalog/services.js';
import type { Store } from '../store/db.js';
import { nodeOrDefault } from '../store/node.js';
import type { EgressMode } from '../store/settings.js';
import { backupDestinations, notifyTargets } from './locations.js';
import { effectivePort, parseUri, type NetworkUri } from './uri.js';

export type { EgressMode };

/** One host and port the configuration needs the node to reach, and which entry of it. */
export interface EgressDestination {
  host: string;
  port: number;
  protocol: Protocol;
  /** The configured entry it comes from, e.g. `backup location "nightly"`. */
  why: string;
}

/** A destination with the addresses its name resolved to (an address resolves to itself). */
export interface ResolvedDestination extends EgressDestination {
  addresses: string[];
}

export interface EgressPolicy {
  mode: EgressMode;
  /** What goes out directly; empty in open mode means nothing is checked. */
  destinations: readonly EgressDestination[];
}

/** How TCP to a host goes out: the proxy to use, or undefined for direct (net/connector.ts proxyFor). */
export type Route = (host: string) => NetworkUri | undefined;

/** The relay setting `host[:port]` (notify emailrelay), IPv6 in brackets; the catalog's SMTP port by default. */
export function relayDestination(text: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: match[2] === undefined ? defaultPort('smtp') : Number(match[2]) };
}

/**
 * Every destination the configuration needs, as it goes out: UDP (DNS, NTP,
 * SNMP) always direct; TCP to the proxy when one is set, except what the
 * bypass list sends direct; cluster peers on the catalog's node-to-node flows.
 */
export function configuredDestinations(store: Store, route: Route, proxy?: NetworkUri): EgressDestination[] {
  const node = nodeOrDefault(store, osHostname());
  const out: EgressDestination[] = [];
  const add = (host: string, port: number, protocol: Protocol, why: string) => out.push({ host: host.toLowerCase(), port, protocol, why });
  const tcp = (host: string, port: number, why: string) => {
    if (!route(host)) add(host, port, 'tcp', `${why}${proxy ? ' (on the proxy bypass list)' : ''}`);
  };
  const dns = configuredFlow('dns');
  for (const server of node.dns) for (const p of dns.ports) add(server, p.port, p.protocol, `DNS server ${server}`);
  const ntp = configuredFlow('ntp');
  for (const server of node.ntp) add(server, flowPort(ntp, 'udp'), 'udp', `NTP server ${server}`);
  if (proxy?.host) add(proxy.host, effectivePort(proxy)!, 'tcp', `the proxy (network proxy)`);
  for (const location of backupDestinations(store)) {
    const port = effectivePort(location.uri);
    if (location.uri.host && port) tcp(location.uri.host, port, `backup location "${location.name}"${location.alternate ? ' (alternate)' : ''}`);
  }
  const updates = updateSourceHost(store);
  if (updates) tcp(updates.host, updates.port, 'OS update source (security source)');
  const targets = notifyTargets(store);
  for (const target of targets) {
    if (target.uri.scheme === 'snmp' && target.uri.host) add(target.uri.host, effectivePort(target.uri)!, 'udp', `SNMP notify target (${target.level})`);
  }
  const mailto = targets.filter((t) => t.uri.scheme === 'mailto');
  const relayText = store.settings.get('notify.emailrelay');
  const relay = relayText ? relayDestination(relayText) : undefined;
  if (relay && mailto.length) tcp(relay.host, relay.port, 'mail relay (notify emailrelay)');
  else for (const t of mailto) if (t.uri.host) tcp(t.uri.host, defaultPort('smtp'), `mailto target (${t.level}), no relay set`);
  const self = store.inventory.list().find((n) => n.hostname === node.hostname);
  for (const peer of store.inventory.list()) {
    if (peer.hostname === node.hostname) continue;
    for (const flow of flowsBetween({ roles: node.roles, primary: self?.primary }, peer)) add(peer.address, flow.port, flow.protocol, `cluster peer ${peer.hostname} (${flow.service})`);
  }
  return dedupe(out);
}

/** The host and port of the OS update source (`security source`), unless it is file:// or unreadable (the update commands say why). */
export function updateSourceHost(store: Store): { host: string; port: number } | undefined {
  let text: string | undefined;
  try {
    text = store.settings.get('security.source')?.uri;
  } catch {
    return undefined;
  }
  if (!text) return undefined;
  const uri = parseUri(text);
  const port = effectivePort(uri);
  return uri.host && port ? { host: uri.host, port } : undefined;
}

function dedupe(list: EgressDestination[]): EgressDestination[] {
  const seen = new Map<string, EgressDestination>();
  for (const d of list) if (!seen.has(destinationKey(d))) seen.set(destinationKey(d), d);
  return [...seen.values()];
}

export const destinationKey = (d: { host: string; port: number; protocol: Protocol }) => `${d.host}|${d.port}|${d.protocol}`;

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/i;

export interface EgressVerdict {
  allowed: boolean;
  reason: string;
}

/**
 * Whether the egress policy lets the node open host:port directly. A host is
 * matched by the name or address the configuration names, or by an address
 * its name resolved to (when `addresses` are known).
 */
export function egressVerdict(policy: EgressPolicy, host: string, port: number, protocol: Protocol): EgressVerdict {
  if (policy.mode === 'open') return { allowed: true, reason: 'allowed: the egress policy is open (firewall egress open): the node reaches anything' };
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (LOOPBACK.test(name)) return { allowed: true, reason: 'allowed: loopback' };
  const family = isIP(name);
  const match = policy.destinations.find(
    (d) => d.port === port && d.protocol === protocol && (d.host === name || (family !== 0 && ((d as Partial<ResolvedDestination>).addresses ?? []).includes(name))),
  );
  if (match) return { allowed: true, reason: `allowed: ${match.why}` };
  return { allowed: false, reason: `dropped by the egress policy (firewall egress strict): ${hostPort(name, port)}/${protocol} is not a configured destination` };
}

/** The connector's refusal, before any packet leaves: the policy named, never a timeout. */
export function refusalMessage(host: string, port: number): string {
  return `refused by this node's egress policy (firewall egress strict): ${hostPort(host, port)} is not a configured destination; see firewall egress`;
}

const hostPort = (host: string, port: number) => `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
