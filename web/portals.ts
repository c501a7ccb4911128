// The web services of `web service ...`: the two portals nginx fronts for the
// application nodes. Each is served under its own location; a disabled one's
// URLs redirect to the home of an enabled one. At least one stays enabled.

import type { Store } from '../store/db.js';

export const PORTAL_NAMES = ['admin', 'selfservice'] as const;
export type PortalName = (typeof PORTAL_NAMES)[number];

export interface Portal {
  name: PortalName;
  purpose: string;
  /** nginx prefix location: the longest matching prefix wins, so `/` is "everything else". */
  location: string;
  /** Where a disabled portal's URLs are sent when this one is the enabled one. */
  home: string;
}

export const PORTALS: readonly Portal[] = [
  { name: 'admin', purpose: 'administration portal and API', location: '/', home: '/' },
  { name: 'selfservice', purpose: 'self-service portal for end users', location: '/selfservice', home: '/selfservice/' },
];

export interface PortalState extends Portal {
  enabled: boolean;
  /** The enabled portal a disabled one's URLs redirect to. */
  redirectTo?: Portal;
}

/** Each portal with its state; a disabled one names the enabled portal it redirects to. */
export function portalStates(disabled: readonly PortalName[]): PortalState[] {
  const active = PORTALS.find((p) => !disabled.includes(p.name));
  return PORTALS.map((p) => (disabled.includes(p.name) ? { ...p, enabled: false, redirectTo: active } : { ...p, enabled: true }));
}

// ---------------------------------------------------------------------------
// The setting: the disabled portals (new portals start enabled). All store
// access of `web service` is these two functions.

export function readDisabledPortals(store: Store): PortalName[] {
  const saved: unknown = store.settings.get('web.disabledServices');
  // Only known names count: a damaged value must not disable everything.
  const names = Array.isArray(saved) ? PORTAL_NAMES.filter((n) => saved.includes(n)) : [];
  return names.length < PORTAL_NAMES.length ? names : [];
}

export function writeDisabledPortals(store: Store, names: readonly PortalName[]): void {
  store.settings.set('web.disabledServices', names.length ? [...names] : undefined);
}
