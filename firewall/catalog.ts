// The catalog: the one place where roles, services, ports and flows live.
// Everything else (firewall ruleset, cluster checks, network requirements,
// app status, the banner) is derived from it.

/** Node roles as chosen at setup. `unified` is application + database on one node. */
export const ROLE_NAMES = ['webproxy', 'application', 'database', 'unified'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** The roles a node effectively plays: `unified` expands to application + database. */
export function effectiveRoles(roles: readonly RoleName[]): Set<Exclude<RoleName, 'unified'>> {
  const out = new Set<Exclude<RoleName, 'unified'>>();
  for (const role of roles) {
    if (role === 'unified') {
      out.add('application');
      out.add('database');
    } else out.add(role);
  }
  return out;
}
