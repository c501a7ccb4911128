// The version of the cluster agent's protocol: every request and every answer
// names the protocol version its sender speaks (and the product version it
// runs) in two headers, and each side checks the other's before anything else.
//
// The rule of compatibility is written here and nowhere else: two nodes work
// together when their protocol versions are at most COMPATIBLE_SPAN apart. A
// version N+1 therefore keeps every route of N as N answers and asks it, so a
// cluster half way through a rolling upgrade from N to N+1 keeps working; a
// version two apart is refused, by name, before any work.

import type { IncomingHttpHeaders } from 'node:http';
import { PLATFORM_VERSION as BUILT_VERSION, PRODUCT_VERSION_SHAPE } from '../core/version.js';
import { runningRelease } from '../releases/layout.js';

/**
 * The version this node names: its installed release's (the signed
 * manifest's, which `cluster upgrade` waits for), else the build's.
 */
const PLATFORM_VERSION = runningRelease()?.version ?? BUILT_VERSION;

/** The protocol this build speaks. Raise it when a route changes in a way the previous build could not follow. */
export const AGENT_PROTOCOL_VERSION = 1;

/** How far apart two nodes' protocol versions may be and still work together. */
export const COMPATIBLE_SPAN = 1;

export const VERSION_HEADERS = { protocol: 'platform-agent-protocol', product: 'platform-version' } as const;

/** What a version header may hold: from the network, so bounded before it is read. */
export const VERSION_BOUNDS = { protocolDigits: 4, productChars: 64 } as const; // PRODUCT_VERSION_SHAPE holds the 64
const PROTOCOL_SHAPE = new RegExp(`^[1-9][0-9]{0,${VERSION_BOUNDS.protocolDigits - 1}}$`);

export interface PeerVersions {
  protocol: number;
  product: string;
}

export const OWN_VERSIONS: PeerVersions = { protocol: AGENT_PROTOCOL_VERSION, product: PLATFORM_VERSION };

/** Whether this build works with a peer speaking `protocol`. */
export const speaks = (protocol: number): boolean => Math.abs(protocol - AGENT_PROTOCOL_VERSION) <= COMPATIBLE_SPAN;

/** The versions this build works with, as a person reads them. */
export const compatibleVersions = (): string => {
  const oldest = Math.max(1, AGENT_PROTOCOL_VERSION - COMPATIBLE_SPAN);
  return oldest === AGENT_PROTOCOL_VERSION + COMPATIBLE_SPAN ? String(oldest) : `${oldest} to ${AGENT_PROTOCOL_VERSION + COMPATIBLE_SPAN}`;
};

/** The headers this node sends with every request and every answer. */
export const versionHeaders = (): Record<string, string> => ({ [VERSION_HEADERS.protocol]: String(AGENT_PROTOCOL_VERSION), [VERSION_HEADERS.product]: PLATFORM_VERSION });

/** The other side's versions, checked by shape and bound; a problem in words when they are missing or malformed. */
export function readVersions(headers: IncomingHttpHeaders): { ok: true; versions: PeerVersions } | { ok: false; problem: string } {
  const protocol = headers[VERSION_HEADERS.protocol];
  const product = headers[VERSION_HEADERS.product];
  if (protocol === undefined) return { ok: false, problem: `names no agent protocol version (header ${VERSION_HEADERS.protocol})` };
  if (typeof protocol !== 'string' || !PROTOCOL_SHAPE.test(protocol)) return { ok: false, problem: `${VERSION_HEADERS.protocol}: not a protocol version (a whole number of at most ${VERSION_BOUNDS.protocolDigits} digits)` };
  if (typeof product !== 'string' || !PRODUCT_VERSION_SHAPE.test(product)) return { ok: false, problem: `${VERSION_HEADERS.product}: not a product version (letters, digits and .+~- , at most ${VERSION_BOUNDS.productChars})` };
  return { ok: true, versions: { protocol: Number(protocol), product } };
}

/** What both sides say of a mismatch: the two versions and what this node works with. */
export const mismatchText = (theirs: PeerVersions): string =>
  `speaks agent protocol ${theirs.protocol} (platform ${theirs.product}); this node speaks ${AGENT_PROTOCOL_VERSION} (platform ${PLATFORM_VERSION}) and works with ${compatibleVersions()}`;

/** A peer answered in a protocol version this node cannot speak. */
export class ProtocolMismatch extends Error {
  constructor(
    readonly address: string,
    readonly theirs: PeerVersions,
  ) {
    super(`${address}: ${mismatchText(theirs)}`);
  }
}
