// The node's identity and basic settings, kept in the config store under
// one key so that `system setup` changes them in one write.

import type { Store } from './db.js';
import type { NodeSettings } from './settings.js';

export function readNode(store: Store): NodeSettings | undefined {
  return store.settings.get('node');
}

export function writeNode(store: Store, node: NodeSettings): void {
  store.settings.set('node', node);
}

/** The node's settings, or an unconfigured default (the OS hostname, no roles). */
export function nodeOrDefault(store: Store, osHostname: string): NodeSettings {
  return (
    readNode(store) ?? {
      hostname: osHostname,
      roles: [],
      ntp: [],
      dns: [],
      dataCentre: 'default',
      maintenance: false,
    }
  );
}
