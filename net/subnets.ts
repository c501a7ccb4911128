// Address-range conflicts: the node's networks against ranges that must not
// be used for them, and against each other (a gateway in such a range, or
// two interfaces in overlapping networks, leave traffic unroutable).

import { parseNetwork } from './address.js';

export const RESERVED_RANGES: readonly { network: string; why: string }[] = [
  { network: '127.0.0.0/8', why: 'loopback' },
  { network: '169.254.0.0/16', why: 'link-local (no DHCP answer)' },
  { network: '172.17.0.0/16', why: "container runtimes' default bridge" },
  { network: '100.64.0.0/10', why: 'carrier-grade NAT, not routable inside a site' },
  { network: '224.0.0.0/4', why: 'multicast' },
  { network: 'fe80::/10', why: 'IPv6 link-local' },
];

interface Range {
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

export function rangeOf(cidr: string): Range {
  const network = parseNetwork(cidr);
  const [address, prefixText] = network.text.split('/');
  const bits = network.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  const value = network.family === 4
    ? address!.split('.').reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n)
    : address!.split(':').reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
  const size = 1n << BigInt(bits - prefix);
  const first = (value / size) * size;
  return { family: network.family, first, last: first + size - 1n };
}

export const overlaps = (a: string, b: string): boolean => {
  const x = rangeOf(a);
  const y = rangeOf(b);
  return x.family === y.family && x.first <= y.last && y.first <= x.last;
};

export interface SubnetFinding {
  subject: string;
  ok: boolean;
  finding: string;
}

/** Checks interface networks (name → CIDR) and gateways against the reserved ranges and each other. */
export function checkSubnets(networks: { iface: string; cidr: string }[], gateways: string[]): SubnetFinding[] {
  const findings: SubnetFinding[] = [];
  for (const { iface, cidr } of networks) {
    const reserved = RESERVED_RANGES.filter((r) => r.network !== 'fe80::/10' && overlaps(cidr, r.network));
    findings.push(
      reserved.length
        ? { subject: `${iface} ${cidr}`, ok: false, finding: `overlaps ${reserved.map((r) => `${r.network} (${r.why})`).join(', ')}` }
        : { subject: `${iface} ${cidr}`, ok: true, finding: 'no conflict with reserved ranges' },
    );
  }
  for (let i = 0; i < networks.length; i++) {
    for (let j = i + 1; j < networks.length; j++) {
      const a = networks[i]!;
      const b = networks[j]!;
      if (a.iface !== b.iface && overlaps(a.cidr, b.cidr)) findings.push({ subject: `${a.iface} ${a.cidr} / ${b.iface} ${b.cidr}`, ok: false, finding: 'two interfaces in overlapping networks: replies may leave by the wrong one' });
    }
  }
  for (const gateway of gateways) {
    const reserved = RESERVED_RANGES.find((r) => overlaps(gateway, r.network) && r.network !== 'fe80::/10');
    if (reserved) findings.push({ subject: `gateway ${gateway}`, ok: false, finding: `in ${reserved.network} (${reserved.why}): traffic cannot be routed` });
    else findings.push({ subject: `gateway ${gateway}`, ok: true, finding: networks.some((n) => overlaps(gateway, n.cidr)) ? 'on a local network' : 'not on any local network: check the routes' });
  }
  return findings;
}
