// The building blocks of the store's row shapes (store/rows.ts) and of its
// settings (store/settings.ts): one grammar per kind of value, the same the
// commands apply (core/grammar.ts, core/uri-grammar.ts), as zod/mini schemas.
//
// This module and what it imports are also loaded by the worker thread that
// reads a restored store (store/staged.ts). Under the test runner that worker
// runs the TypeScript sources with Node's type stripping, so everything it
// imports keeps to erasable syntax: no parameter properties, no enums.

import { isIP } from 'node:net';
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { canonicalHostPort, INTERFACE_NAME, isHostname, LABEL, USER_NAME } from '../core/grammar.js';
import { parseUri, type Scheme } from '../core/uri-grammar.js';
import { failure } from '../core/errors.js';

// Problems in English ("expected number") rather than zod-mini's bare "Invalid input".
z.config(en());

/** How grave an event is (store/events.ts). */
export const EVENT_LEVELS = ['info', 'warn', 'error'] as const;
export type EventLevel = (typeof EVENT_LEVELS)[number];
export const eventLevel = z.enum(EVENT_LEVELS);

/** One line of printable text, at most `max` characters: nothing that draws a fake line or drives a terminal. */
export const line = (max: number) => z.string().check(z.maxLength(max), z.regex(/^[^\x00-\x1f\x7f]*$/, 'holds a control character (a new line?)'));

export const hostname = z.string().check(z.refine(isHostname, 'not a host name'));
export const address = z.string().check(z.refine((v) => isIP(v) !== 0, 'not an IP address'));
/** A host name or an IP address. */
export const host = z.string().check(z.refine((v) => isHostname(v) || isIP(v) !== 0, 'not a host name or an IP address'));
/** `host:port` in its written form (core/grammar.ts). */
export const hostPort = z.string().check(z.refine((v) => canonicalHostPort(v) === v, 'not host:port (lower case, IPv6 in brackets, a port 1..65535)'));

/** An address or a network in CIDR notation. */
export const network = z.string().check(
  z.refine((value) => {
    const [bare, prefix, extra] = value.split('/');
    const family = isIP(bare ?? '');
    return family !== 0 && extra === undefined && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)));
  }, 'not an address or a network (address/prefix)'),
);

/** An address with its prefix length, e.g. 192.0.2.7/24 or 2001:db8::7/64 (the prefix is required). */
export const addressWithPrefix = network.check(z.refine((value) => value.includes('/'), 'not address/prefix'));

/** A network interface name (core/grammar.ts: the kernel's rule, no glob or line-breaking character). */
export const interfaceName = z.string().check(z.regex(INTERFACE_NAME, 'not an interface name (1-15 letters, digits, ".", "_" or "-")'));

export const userName = z.string().check(z.regex(USER_NAME, 'not a user name (a letter, then letters, digits, ".", "_" or "-"; 32 at most)'));
export const label = z.string().check(z.regex(LABEL, 'not a name (a letter, then letters, digits, ".", "_" or "-"; 64 at most)'));

/** A time as the product writes it: ISO 8601 in UTC. */
export const isoTime = z.string().check(
  z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/, 'not an ISO 8601 time in UTC'),
  z.refine((v) => !Number.isNaN(Date.parse(v)), 'not a real time'),
);

/** A whole number in `min..max`. */
export const whole = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));
export const port = whole(1, 65535);
/** A flag as SQLite keeps it. */
export const bit = z.union([z.literal(0), z.literal(1)]);

/** A URI of the given schemes, by the grammar of core/uri-grammar.ts. */
export const uri = (schemes?: readonly Scheme[]) =>
  line(4096).check(
    z.refine((text) => {
      try {
        const parsed = parseUri(text);
        return schemes === undefined || schemes.includes(parsed.scheme);
      } catch {
        return false;
      }
    }, schemes ? `not a ${schemes.join(' or ')} URI` : 'not a URI the product knows'),
  );

/** What a sealed value is stored as before it is opened (store/secrets.ts); the clear text has a shape of its own. */
export const sealedText = line(16 * 1024);

/** What the store holds does not fit its shape: a failure that names the table and row, never a crash. */
export const invalidStore = (where: string, problem: string) =>
  failure('store-invalid', `the config store is invalid: ${where}: ${problem}`, ['the node runs recovery commands only; restore a good backup with "backup restore <location>"']);

/** The first problem zod found in a value, as "path: message". */
export function problemOf(schema: z.ZodMiniType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  return issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}
