// Where the node's URIs are kept: backup locations and notification targets.
// The URI may hold a password (needed to use it): it is stored sealed
// (store/secrets.ts) and what is shown is always the redacted form.

import type { Store } from '../store/db.js';
import { formatUri, parseUri, redactUri, type NetworkUri } from './uri.js';

export interface BackupLocation {
  name: string;
  uri: NetworkUri;
}

export function backupLocations(store: Store): BackupLocation[] {
  return (store.db.prepare('SELECT name, uri FROM backup_locations ORDER BY name').all() as { name: string; uri: string }[]).map((r) => ({ name: r.name, uri: parseUri(store.secrets.unseal(r.uri)) }));
}

/** Adds a backup location, its URI sealed. */
export function addBackupLocation(store: Store, name: string, uri: NetworkUri): void {
  store.tx(() => store.db.prepare('INSERT INTO backup_locations (name, uri) VALUES (?, ?)').run(name, store.secrets.seal(formatUri(uri))));
}

export type NotifyLevel = 'info' | 'warn' | 'error';
export const NOTIFY_LEVELS: readonly NotifyLevel[] = ['info', 'warn', 'error'];

export function notifyTargets(store: Store): { level: NotifyLevel; uri: NetworkUri }[] {
  return storedTargets(store).map((r) => ({ level: r.level, uri: r.uri }));
}

function storedTargets(store: Store): { id: number; level: NotifyLevel; uri: NetworkUri; text: string }[] {
  const rows = store.db.prepare('SELECT rowid AS id, level, uri FROM notify_targets').all() as { id: number; level: NotifyLevel; uri: string }[];
  return rows
    .map((r) => {
      const text = store.secrets.unseal(r.uri);
      return { id: r.id, level: r.level, uri: parseUri(text), text };
    })
    .sort((a, b) => a.level.localeCompare(b.level) || a.text.localeCompare(b.text));
}

/** Adds targets to a level, sealed; one already there is not added twice (sealed values never compare equal). */
export function addNotifyTargets(store: Store, level: NotifyLevel, uris: NetworkUri[]): void {
  store.tx(() => {
    const present = new Set(storedTargets(store).filter((t) => t.level === level).map((t) => t.text));
    const insert = store.db.prepare('INSERT INTO notify_targets (level, uri) VALUES (?, ?)');
    for (const text of new Set(uris.map((u) => formatUri(u)))) if (!present.has(text)) insert.run(level, store.secrets.seal(text));
  });
}

/** Removes a target from a level; false when it was not there. */
export function removeNotifyTarget(store: Store, level: NotifyLevel, uri: NetworkUri): boolean {
  const text = formatUri(uri);
  const found = storedTargets(store).filter((t) => t.level === level && t.text === text);
  store.tx(() => found.forEach((t) => store.db.prepare('DELETE FROM notify_targets WHERE rowid = ?').run(t.id)));
  return found.length > 0;
}

export const shown = (uri: NetworkUri) => redactUri(uri);
