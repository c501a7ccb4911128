// The node's identity and basic settings, kept in the config store under
// one key so that `system setup` changes them in one write.

import type { PlatformError } from '../core/errors.js';
import type { Store } from './db.js';
import type { NodeSettings } from './settings.js';

export function readNode(store: Store): NodeSettings | undefined {
  return store.settings.get('node');
}

export function writeNode(store: Store, node: NodeSettings): void {
  store.settings.set('node', node);
}

/**
 * The node's settings, or an unconfigured default (the OS hostname, no
 * roles); the default too when the stored ones fail their shape, so that a
 * node in its recovery state (daemon/recovery.ts, which says so on the
 * banner) keeps a firewall that opens no role's ports rather than none.
 */
export function nodeOrDefault(store: Store, osHostname: string): NodeSettings {
  let stored: NodeSettings | undefined;
  try {
    stored = readNode(store);
  } catch (error) {
    if ((error as PlatformError).code !== 'store-invalid') throw error;
  }
  return (
    stored ?? {
      hostname: osHostname,
      roles: [],
      ntp: [],
      dns: [],
      dataCentre: 'default',
      maintenance: false,
    }
  );
}
