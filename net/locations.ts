// Where the node's URIs are kept: backup locations and notification targets.
// The stored text may hold a password (needed to use it); what is shown is
// always the redacted form.

import type { Store } from '../store/db.js';
import { parseUri, redactUri, type NetworkUri } from './uri.js';

export interface BackupLocation {
  name: string;
  uri: NetworkUri;
}

export function backupLocations(store: Store): BackupLocation[] {
  return (store.db.prepare('SELECT name, uri FROM backup_locations ORDER BY name').all() as { name: string; uri: string }[]).map((r) => ({ name: r.name, uri: parseUri(r.uri) }));
}

export type NotifyLevel = 'info' | 'warn' | 'error';
export const NOTIFY_LEVELS: readonly NotifyLevel[] = ['info', 'warn', 'error'];

export function notifyTargets(store: Store): { level: NotifyLevel; uri: NetworkUri }[] {
  return (store.db.prepare('SELECT level, uri FROM notify_targets ORDER BY level, uri').all() as { level: NotifyLevel; uri: string }[]).map((r) => ({ level: r.level, uri: parseUri(r.uri) }));
}

export const shown = (uri: NetworkUri) => redactUri(uri);
