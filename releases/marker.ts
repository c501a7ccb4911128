// The upgrade marker: "an upgrade (or rollback) is in progress, not yet
// confirmed". Written before anything changes, removed only once the new
// release passed its health gate or the node is back on the old one. The
// boot path (platform-release recover) that finds it with no runner alive
// rolls back, so a power cut at any moment leaves a node on one release.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as z from 'zod/mini';
import { isVersion } from './manifest.js';
import { readJson, writeJsonAtomic, type ProductRoot } from './layout.js';

const version = z.string().check(z.refine(isVersion, 'not a version'));

/** How the node runs platformd: systemd's unit on an appliance, a plain child process in the embedded default and tests. */
export const restartShape = z.union([
  z.object({ mode: z.literal('systemd'), unit: z.string().check(z.regex(/^[a-z][a-z0-9-]{0,63}\.service$/)) }),
  z.object({ mode: z.literal('process'), args: z.array(z.string().check(z.maxLength(4096))).check(z.maxLength(64)) }),
]);
export type Restart = z.infer<typeof restartShape>;

export const markerShape = z.object({
  kind: z.enum(['upgrade', 'rollback']),
  from: version,
  to: version,
  /** What `previous` named before: a failed upgrade puts it back. */
  previousBefore: z.nullable(version),
  /** prepared: nothing switched yet; switched: `current` names `to`. */
  state: z.enum(['prepared', 'switched']),
  startedAt: z.iso.datetime(),
  home: z.string().check(z.regex(/^\/[^\0]{0,4095}$/)),
  restart: restartShape,
  /** The banner's warnings before the upgrade: the gate fails on a new one. */
  warningsBefore: z.array(z.string().check(z.maxLength(400))).check(z.maxLength(100)),
  /** Set by the runner: the boot path leaves an upgrade alone while its runner lives. */
  runner: z.optional(z.object({ pid: z.number().check(z.int(), z.positive()), bootId: z.string().check(z.maxLength(64)) })),
});
export type Marker = z.infer<typeof markerShape>;

export const attemptShape = z.object({
  kind: z.enum(['upgrade', 'rollback']),
  from: version,
  to: version,
  result: z.enum(['upgraded', 'rolled-back', 'failed']),
  reason: z.nullable(z.string().check(z.maxLength(2000))),
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime(),
  seconds: z.number(),
  /** platformd has recorded it in the audit log (and raised its event). */
  reported: z.boolean(),
});
export type Attempt = z.infer<typeof attemptShape>;

export function readMarker(product: ProductRoot): Marker | undefined {
  if (!existsSync(product.marker)) return undefined;
  const parsed = z.safeParse(markerShape, readJson(product.marker));
  // A marker that does not parse (a torn write cannot happen: it is renamed into place) is treated as an interrupted upgrade with nothing known.
  if (!parsed.success) throw new Error(`the upgrade marker ${product.marker} is damaged: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export const writeMarker = (product: ProductRoot, marker: Marker) => writeJsonAtomic(product.marker, marker);
export const removeMarker = (product: ProductRoot) => rmSync(product.marker, { force: true });

export function readAttempt(product: ProductRoot): Attempt | undefined {
  const parsed = z.safeParse(attemptShape, readJson(product.lastAttempt));
  return parsed.success ? parsed.data : undefined;
}
export const writeAttempt = (product: ProductRoot, attempt: Attempt) => writeJsonAtomic(product.lastAttempt, attempt);

/** This boot's id: a pid from before a power cut means nothing after it. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
