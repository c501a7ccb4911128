// Static networking, the pure half: the rules a configuration must keep
// (names, prefixes, gateways inside their network, no route to nowhere) and
// the generator that turns the configuration kept in the store into
// systemd-networkd's files. Nothing here touches the machine; the service
// (net/static-service.ts) writes the files and asks networkd to reload.

import { isIPv4, isIPv6 } from 'node:net';
import { INTERFACE_NAME } from '../core/grammar.js';
import { MAX_STATIC_INTERFACES, MAX_STATIC_ROUTES, type InterfaceSettings, type RouteSettings, type StaticNetwork } from '../store/settings.js';
import { rangeOf } from './subnets.js';

/** A configuration (typed, or read back from the store) that breaks a rule; commands answer it as bad input. */
export class StaticNetworkError extends Error {}

/** Where the files go, under the OS root, and how they are named: one file per interface, ahead of the image's DHCP default (20-wired.network) and of first boot's (15-...). */
export const NETWORKD_DIR = 'etc/systemd/network';
export const FILE_PREFIX = '10-platform-';
export const fileNameOf = (iface: string) => `${FILE_PREFIX}${iface}.network`;
/** Files this generator owns (and may remove when their interface is no longer configured). */
export const OWN_FILE = /^10-platform-[A-Za-z0-9_.-]{1,15}\.network$/;

/** A typed value in a message: quoted, its control characters escaped (no line of its own), cut short. */
const quoted = (value: string) => JSON.stringify(value.slice(0, 60));

const bad = (message: string): never => {
  throw new StaticNetworkError(message);
};

/** A whole address in its one written form: IPv4 dotted decimal, IPv6 lower case and compressed. */
function canonicalAddress(text: string): { family: 4 | 6; text: string } | undefined {
  if (isIPv4(text)) return /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(text) ? { family: 4, text } : undefined;
  if (isIPv6(text) && !text.includes('%')) return { family: 6, text: new URL(`http://[${text}]/`).hostname.slice(1, -1) };
  return undefined;
}

export interface Prefixed {
  family: 4 | 6;
  address: string;
  prefix: number;
  /** address/prefix, canonical. */
  text: string;
}

/** `address/prefix`, the prefix required and in range (`min` up to 32 or 128). */
export function parsePrefixed(value: string, what: string, min = 1): Prefixed {
  const [addressText = '', prefixText, ...extra] = value.split('/');
  const address = canonicalAddress(addressText);
  if (!address || extra.length > 0) return bad(`${what}: ${quoted(value)} is not an IPv4 or IPv6 address with its prefix (e.g. 192.0.2.10/24, 2001:db8::10/64)`);
  const max = address.family === 4 ? 32 : 128;
  if (prefixText === undefined) return bad(`${what}: ${quoted(value)} has no prefix length; write it as ${address.text}/<${min}-${max}>`);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) < min || Number(prefixText) > max) return bad(`${what}: the prefix length of ${quoted(value)} must be ${min}-${max}`);
  const prefix = Number(prefixText);
  return { family: address.family, address: address.text, prefix, text: `${address.text}/${prefix}` };
}

/** One address, no prefix (a gateway). */
export function parseGateway(value: string, what = 'gateway'): { family: 4 | 6; text: string } {
  return canonicalAddress(value) ?? bad(`${what}: ${quoted(value)} is not an IPv4 or IPv6 address`);
}

export function checkInterfaceName(name: string): string {
  if (!INTERFACE_NAME.test(name)) {
    bad(`interface ${quoted(name)}: an interface name is 1-15 letters, digits, ".", "_" or "-" (not "." or "..")`);
  }
  return name;
}

/** Ranges are worked out once per text (a configuration compares each network with every other): a small cache, emptied when full. */
const RANGES = new Map<string, ReturnType<typeof rangeOf>>();
function rangeOfCached(cidr: string): ReturnType<typeof rangeOf> {
  let range = RANGES.get(cidr);
  if (!range) {
    if (RANGES.size >= 4096) RANGES.clear();
    range = rangeOf(cidr);
    RANGES.set(cidr, range);
  }
  return range;
}

const within = (address: string, cidr: string): boolean => {
  const a = rangeOfCached(address);
  const n = rangeOfCached(cidr);
  return a.family === n.family && a.first >= n.first && a.last <= n.last;
};

/** Addresses that are never an interface's own or a gateway: the machine's, nobody's, everybody's. */
const NOT_ASSIGNABLE: readonly { cidr: string; why: string }[] = [
  { cidr: '0.0.0.0/8', why: '"this network"' },
  { cidr: '127.0.0.0/8', why: 'loopback' },
  { cidr: '224.0.0.0/3', why: 'multicast or reserved' },
  { cidr: '::/127', why: 'unspecified or loopback' },
  { cidr: 'ff00::/8', why: 'multicast' },
];
const notAssignable = (address: string) => NOT_ASSIGNABLE.find((r) => within(address, r.cidr));
const LINK_LOCAL_V6 = 'fe80::/10';

/** The network an address/prefix is in, as network/prefix. */
export function networkOf(cidr: string): string {
  const { family, first } = rangeOf(cidr);
  const prefix = cidr.split('/')[1]!;
  if (family === 4) return `${[24n, 16n, 8n, 0n].map((shift) => (first >> shift) & 255n).join('.')}/${prefix}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((first >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return `${canonicalAddress(groups.join(':'))!.text}/${prefix}`;
}

function checkAddress(iface: string, cidr: string): Prefixed {
  const p = parsePrefixed(cidr, `${iface} address`);
  const reserved = notAssignable(p.address);
  if (reserved) bad(`${iface} address ${p.text}: ${p.address} is ${reserved.why}, not an interface's address`);
  if (p.family === 6 && within(p.address, LINK_LOCAL_V6)) bad(`${iface} address ${p.text}: link-local addresses are made by the interface itself; give a global or unique-local one`);
  const { first, last } = rangeOf(p.text);
  const value = rangeOf(p.address).first;
  if (p.family === 4 && p.prefix <= 30 && (value === first || value === last)) bad(`${iface} address ${p.text}: ${p.address} is the ${value === first ? 'network' : 'broadcast'} address of ${networkOf(p.text)}`);
  return p;
}

function checkGateway(iface: string, address: Prefixed, gatewayText: string): string {
  const gateway = parseGateway(gatewayText, `${iface} gateway`);
  if (gateway.family !== address.family) bad(`${iface} gateway ${gateway.text}: an IPv${gateway.family} gateway for the IPv${address.family} address ${address.text}`);
  if (gateway.text === address.address) bad(`${iface} gateway ${gateway.text}: that is the interface's own address`);
  const reserved = notAssignable(gateway.text);
  if (reserved) bad(`${iface} gateway ${gateway.text}: ${reserved.why}`);
  // An IPv6 router is often reached at its link-local address, on the link itself.
  const onLink = gateway.family === 6 && within(gateway.text, LINK_LOCAL_V6);
  if (!onLink && !within(gateway.text, address.text)) bad(`${iface} gateway ${gateway.text} is outside ${networkOf(address.text)}, the network of ${address.text}: a gateway must be on the interface's own network`);
  return gateway.text;
}

function checkInterface(entry: InterfaceSettings): Prefixed[] {
  checkInterfaceName(entry.name);
  if (entry.dhcp && entry.addresses.length > 0) bad(`${entry.name}: DHCP and static addresses at once`);
  if (!entry.dhcp && entry.addresses.length === 0) bad(`${entry.name}: neither DHCP nor a static address`);
  const addresses = entry.addresses.map((a) => {
    const address = checkAddress(entry.name, a.cidr);
    if (a.gateway !== undefined) checkGateway(entry.name, address, a.gateway);
    return address;
  });
  if (addresses.length > 2 || new Set(addresses.map((a) => a.family)).size !== addresses.length) bad(`${entry.name}: at most one IPv4 and one IPv6 address`);
  return addresses;
}

/** The interface whose static network holds a route's gateway: the route's way out. */
function routeInterface(config: StaticNetwork, route: RouteSettings): string {
  const gateway = parseGateway(route.gateway, `route ${route.destination} gateway`);
  if (within(gateway.text, LINK_LOCAL_V6)) bad(`route ${route.destination} via ${gateway.text}: a link-local gateway names no interface; give the gateway's address on a configured network`);
  const way = config.interfaces.find((i) => i.addresses.some((a) => within(gateway.text, a.cidr)));
  if (!way) bad(`route ${route.destination} via ${gateway.text}: no configured static network holds ${gateway.text}, so the route would lead nowhere; give the interface a static address in that network first ("network interface <name> static ...")`);
  if (way!.addresses.some((a) => a.cidr.split('/')[0] === gateway.text)) bad(`route ${route.destination} via ${gateway.text}: that is this node's own address on ${way!.name}`);
  return way!.name;
}

function checkRoute(config: StaticNetwork, route: RouteSettings): string {
  const destination = parsePrefixed(route.destination, 'route destination', 0);
  if (networkOf(destination.text) !== destination.text) bad(`route destination ${destination.text} has bits set past its prefix; the network is ${networkOf(destination.text)}`);
  const gateway = parseGateway(route.gateway, `route ${destination.text} gateway`);
  if (gateway.family !== destination.family) bad(`route ${destination.text} via ${gateway.text}: an IPv${gateway.family} gateway for an IPv${destination.family} network`);
  return routeInterface(config, route);
}

/**
 * Every rule at once, for a configuration typed now or read back from the
 * store: throws the first broken one, in words a person can act on.
 */
export function checkStaticNetwork(config: StaticNetwork): void {
  if (config.interfaces.length > MAX_STATIC_INTERFACES) bad(`at most ${MAX_STATIC_INTERFACES} interfaces are configured statically`);
  if (config.routes.length > MAX_STATIC_ROUTES) bad(`at most ${MAX_STATIC_ROUTES} static routes`);
  const seen = new Set<string>();
  const networks: { iface: string; network: string }[] = [];
  for (const entry of config.interfaces) {
    if (seen.has(entry.name)) bad(`${entry.name} is configured twice`);
    seen.add(entry.name);
    for (const address of checkInterface(entry)) {
      const network = networkOf(address.text);
      const clash = networks.find((n) => n.iface !== entry.name && (within(network, n.network) || within(n.network, network)));
      if (clash) bad(`${entry.name} ${address.text} and ${clash.iface} are in overlapping networks (${network}, ${clash.network}): replies would leave by either`);
      networks.push({ iface: entry.name, network });
    }
  }
  const destinations = new Set<string>();
  const defaults = new Set(config.interfaces.flatMap((i) => i.addresses.filter((a) => a.gateway).map((a) => parsePrefixed(a.cidr, i.name).family)));
  for (const route of config.routes) {
    checkRoute(config, route);
    const destination = parsePrefixed(route.destination, 'route destination', 0);
    if (destinations.has(destination.text)) bad(`route ${destination.text} is there already; remove it first ("network route del ${destination.text}")`);
    if (destination.prefix === 0 && defaults.has(destination.family)) bad(`route ${destination.text}: the default route is already an interface's gateway`);
    destinations.add(destination.text);
  }
}

export interface NetworkdFile {
  name: string;
  content: string;
}

const HEADER = '# Written by platformd from "network interface" and "network route"; change it with those commands.';

/**
 * The files for a configuration: one per interface, checked whole again
 * first (a restored store reaches here too). Pure: the same configuration
 * gives the same bytes.
 */
export function networkdFiles(config: StaticNetwork): NetworkdFile[] {
  checkStaticNetwork(config);
  return config.interfaces.map((entry) => {
    const routes = config.routes.filter((route) => routeInterface(config, route) === entry.name);
    const lines = [
      HEADER,
      '[Match]',
      `Name=${entry.name}`,
      '',
      '[Network]',
      entry.dhcp ? 'DHCP=yes' : 'DHCP=no',
      ...entry.addresses.flatMap((a) => [`Address=${a.cidr}`, ...(a.gateway ? [`Gateway=${a.gateway}`] : [])]),
      ...routes.flatMap((route) => ['', '[Route]', `Destination=${route.destination}`, `Gateway=${route.gateway}`]),
      '',
    ];
    return { name: fileNameOf(entry.name), content: lines.join('\n') };
  });
}

/** An interface's configuration in a few words: "dhcp", "192.0.2.10/24 via 192.0.2.1". */
export const describeInterface = (entry: InterfaceSettings | undefined): string =>
  !entry ? 'not configured here' : entry.dhcp ? 'dhcp' : entry.addresses.map((a) => (a.gateway ? `${a.cidr} gateway ${a.gateway}` : a.cidr)).join(', ');
