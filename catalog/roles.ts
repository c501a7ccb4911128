// The roles a node is given at setup (seed 003, "Network Communications
// between Nodes within the Cluster": proxy, application, database, and the
// unified node that is application and database in one).

/** Node roles as chosen at setup. `unified` is application + database on one node. */
export const ROLE_NAMES = ['webproxy', 'application', 'database', 'unified'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
/** The roles a node effectively plays once `unified` is expanded. */
export type BaseRole = Exclude<RoleName, 'unified'>;

export const BASE_ROLES: readonly BaseRole[] = ['webproxy', 'application', 'database'];

/** The roles a node effectively plays: `unified` expands to application + database. */
export function effectiveRoles(roles: readonly RoleName[]): Set<BaseRole> {
  const out = new Set<BaseRole>();
  for (const role of roles) {
    if (role === 'unified') {
      out.add('application');
      out.add('database');
    } else out.add(role);
  }
  return out;
}
