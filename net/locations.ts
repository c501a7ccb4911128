// Where the node's URIs are kept: backup locations and notification targets.
// The URI may hold a password (needed to use it): it is stored sealed
// (store/secrets.ts) and what is shown is always the redacted form.

import type { Store } from '../store/db.js';
import { formatUri, parseUri, redactUri, type NetworkUri } from './uri.js';

export interface BackupLocation {
  name: string;
  uri: NetworkUri;
  /** Where backups go when `uri` cannot be reached (`backup add <name> <uri> alternate <uri>`). */
  alternate?: NetworkUri;
}

export function backupLocations(store: Store): BackupLocation[] {
  return store.locations.list().map((r) => ({ name: r.name, uri: parseUri(r.uri), ...(r.alternate === null ? {} : { alternate: parseUri(r.alternate) }) }));
}

/** Every destination backups go to, each location's primary then its alternate (marked). */
export function backupDestinations(store: Store): { name: string; uri: NetworkUri; alternate: boolean }[] {
  return backupLocations(store).flatMap((l) => [{ name: l.name, uri: l.uri, alternate: false }, ...(l.alternate ? [{ name: l.name, uri: l.alternate, alternate: true }] : [])]);
}

/** Adds a backup location, its URIs sealed. */
export function addBackupLocation(store: Store, name: string, uri: NetworkUri, alternate?: NetworkUri): void {
  store.locations.add(name, formatUri(uri), alternate ? formatUri(alternate) : null);
}

export type NotifyLevel = 'info' | 'warn' | 'error';
export const NOTIFY_LEVELS: readonly NotifyLevel[] = ['info', 'warn', 'error'];

export function notifyTargets(store: Store): { level: NotifyLevel; uri: NetworkUri }[] {
  return store.notifyTargets.list().map((t) => ({ level: t.level, uri: parseUri(t.uri) }));
}

/** Adds targets to a level, sealed; one already there is not added twice. */
export function addNotifyTargets(store: Store, level: NotifyLevel, uris: NetworkUri[]): void {
  store.notifyTargets.add(level, uris.map((u) => formatUri(u)));
}

/** Removes a target from a level; false when it was not there. */
export function removeNotifyTarget(store: Store, level: NotifyLevel, uri: NetworkUri): boolean {
  return store.notifyTargets.remove(level, formatUri(uri));
}

export const shown = (uri: NetworkUri) => redactUri(uri);
