// Addresses and networks as a person or the store gives them, parsed into
// one canonical form before they reach any ruleset or comparison: only
// digits, dots, hex and colons can come out, so no input can inject nft syntax.

import { isIPv4, isIPv6 } from 'node:net';

/** An address or network that does not parse (the firewall's commands answer it as bad input). */
export class FirewallInputError extends Error {}

export interface Network {
  family: 4 | 6;
  /** Canonical text: an address, or address/prefix. */
  text: string;
}

export function parseNetwork(value: string): Network {
  const [address, prefixText, ...extra] = value.trim().split('/');
  if (extra.length > 0 || !address) throw new FirewallInputError(`"${value}" is not an address or network`);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (family === 0) throw new FirewallInputError(`"${value}" is not an IPv4 or IPv6 address or network`);
  const canonical = family === 6 ? expandIPv6(address) : address.split('.').map(Number).join('.');
  if (prefixText === undefined) return { family, text: canonical };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > (family === 4 ? 32 : 128)) {
    throw new FirewallInputError(`"${value}": the prefix length must be 0-${family === 4 ? 32 : 128}`);
  }
  return { family, text: `${canonical}/${Number(prefixText)}` };
}

/** Full, lower-case IPv6 text (only hex digits and colons can come out). */
function expandIPv6(address: string): string {
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -v4[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill('0'), ...tailGroups];
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

