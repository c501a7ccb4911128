// Grammars of the names the product keeps: pure predicates that import
// nothing but node:net, shared by the argument types (core/argtypes.ts), the
// URI grammar (core/uri-grammar.ts) and the store's row schemas
// (store/rows.ts), which a worker thread also loads.

import { isIP } from 'node:net';

/** RFC 1123 host name: labels of letters, digits and hyphens, 63 characters each. */
export function isHostname(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value
    .replace(/\.$/, '')
    .split('.')
    .every((label) => /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(label));
}

/**
 * `host:port` in its one written form (lower case, IPv6 in brackets), or
 * undefined when it is not one: a host name or IPv4 address, or an IPv6
 * address in brackets, and a port 1..65535.
 */
export function canonicalHostPort(value: string): string | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([1-9][0-9]{0,4})$/.exec(value);
  if (!match) return undefined;
  const [, v6, name, portText] = match;
  const port = Number(portText);
  if (port > 65535) return undefined;
  if (v6 !== undefined) return isIP(v6) === 6 ? `[${v6.toLowerCase()}]:${port}` : undefined;
  if (isIP(name!) !== 4 && !isHostname(name!)) return undefined;
  return `${name!.toLowerCase()}:${port}`;
}

/** A console user's name, the reference's rule: a letter, then letters, digits, ".", "_" and "-" (32 at most). */
export const USER_NAME = /^[a-zA-Z][a-zA-Z0-9._-]{0,31}$/;

/** A name the administrator gives (backup locations, jobs, data centres). */
export const LABEL = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/**
 * A network interface name as static networking accepts it: the kernel's
 * rule (1-15 characters, no "/", ":" or white space, not "." or "..")
 * narrowed to letters, digits, ".", "_" and "-", so that no name is a
 * systemd-networkd glob ("*", "?", "[") or list, or breaks a line of its file.
 */
export const INTERFACE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/;
