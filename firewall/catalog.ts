// The catalog: the one place where roles, services, ports and flows live.
// Everything else (firewall ruleset, cluster checks, network requirements,
// app status, the banner) is derived from it. Each entry cites the table of
// seed 003 ("Network Security") it comes from.

/** Node roles as chosen at setup. `unified` is application + database on one node. */
export const ROLE_NAMES = ['webproxy', 'application', 'database', 'unified'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
/** The roles a node effectively plays once `unified` is expanded. */
export type BaseRole = Exclude<RoleName, 'unified'>;

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

export type Protocol = 'tcp' | 'udp';

/**
 * Who may open a connection to a service:
 * - public: anyone (new connections rate-limited per source);
 * - cluster: only the cluster's member nodes (the peer sets);
 * - management: the management sources, or anyone while none are set
 *   (new connections rate-limited per source).
 */
export type Scope = 'public' | 'cluster' | 'management';

export interface PortSpec {
  port: number;
  protocol: Protocol;
}

export interface ServiceSpec {
  name: string;
  purpose: string;
  ports: readonly PortSpec[];
  scope: Scope;
  /** The roles on which the service runs. */
  roles: readonly BaseRole[];
  /** Open even when nothing is seen listening (SSH: never lock the administrator out). */
  alwaysOpen?: boolean;
  /** The seed table(s) this entry comes from. */
  source: string;
  note?: string;
}

const ALL_ROLES: readonly BaseRole[] = ['webproxy', 'application', 'database'];
const tcp = (...ports: number[]): PortSpec[] => ports.map((port) => ({ port, protocol: 'tcp' }));
const udp = (...ports: number[]): PortSpec[] => ports.map((port) => ({ port, protocol: 'udp' }));

export const SERVICES: readonly ServiceSpec[] = [
  {
    name: 'ssh',
    purpose: 'SSH and SFTP for management and file transfers',
    ports: tcp(22),
    scope: 'management',
    roles: ALL_ROLES,
    alwaysOpen: true,
    source: 'Inbound communications to all nodes; Service and Ports list',
    note: 'The seed lists TCP/UDP 22; SSH uses TCP only, so UDP 22 is not opened.',
  },
  {
    name: 'http',
    purpose: 'Web access (redirects to HTTPS)',
    ports: tcp(80),
    scope: 'public',
    roles: ['webproxy', 'application'],
    source: 'Service and Ports list',
  },
  {
    name: 'https',
    purpose: 'Web access and API requests',
    ports: tcp(443),
    scope: 'public',
    roles: ['webproxy', 'application'],
    source: 'Inbound communications from external systems to the proxy node; Proxy to Unified/Application Node; Service and Ports list',
  },
  {
    name: 'snmp',
    purpose: 'SNMP polling and traps',
    ports: udp(161, 162),
    scope: 'management',
    roles: ALL_ROLES,
    source: 'Service and Ports list',
  },
  {
    name: 'cluster',
    purpose: 'Cluster communications (HTTPS, mutual TLS)',
    ports: tcp(8443),
    scope: 'cluster',
    roles: ALL_ROLES,
    source: 'Network Communications between Nodes within the Cluster (every table); Service and Ports list',
  },
  {
    name: 'database',
    purpose: 'Database access and the database arbiter',
    ports: tcp(27017, 27019, 27020, 27030),
    scope: 'cluster',
    roles: ['database'],
    source: 'Unified/Application/Database node tables (27017, 27030); Service and Ports list, Database row (27019, 27020)',
    note:
      'The seed disagrees with itself: its flow tables give 27017 and 27030 (arbiter), its service list gives 27019 and 27020. ' +
      'All four are kept, cluster peers only, and each is open only while something listens on it. ' +
      "The service list's Application row also names 27017 and 27030: that describes a unified node (application + database); " +
      'a pure application node runs no database, so it has no database ports.',
  },
];

export function serviceNamed(name: string): ServiceSpec | undefined {
  return SERVICES.find((s) => s.name === name);
}

/** The services a node with these roles may run. */
export function servicesFor(roles: readonly RoleName[]): ServiceSpec[] {
  const effective = effectiveRoles(roles);
  return SERVICES.filter((s) => s.roles.some((r) => effective.has(r)));
}

// ---------------------------------------------------------------------------
// Flows: who talks to whom. Node-to-node flows drive `cluster check`;
// external flows drive the network-requirements report and `diag connectivity`.

export interface NodeFlow {
  from: BaseRole;
  to: BaseRole;
  service: string;
  /** The ports of the service this flow uses (a subset, e.g. only 443 of https). */
  ports: readonly PortSpec[];
  purpose: string;
  bidirectional: boolean;
  source: string;
}

const DB_FLOW_PORTS = tcp(27017, 27030);

export const NODE_FLOWS: readonly NodeFlow[] = [
  { from: 'webproxy', to: 'webproxy', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Proxy to Proxy Node' },
  { from: 'webproxy', to: 'application', service: 'https', ports: tcp(443), purpose: 'User access', bidirectional: false, source: 'Proxy to Unified/Application Node' },
  { from: 'webproxy', to: 'application', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Proxy to Unified/Application Node' },
  { from: 'application', to: 'application', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Application node to Application node; Unified Node to Unified node' },
  { from: 'application', to: 'database', service: 'database', ports: DB_FLOW_PORTS, purpose: 'Database access', bidirectional: true, source: 'Application Node to Database node; Unified Node to Unified node' },
  { from: 'application', to: 'database', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Application Node to Database node' },
  { from: 'database', to: 'database', service: 'database', ports: DB_FLOW_PORTS, purpose: 'Database access', bidirectional: true, source: 'Database Node to Database node; Unified Node to Unified node' },
  { from: 'database', to: 'database', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Database Node to Database node' },
];

export type ExternalKind = 'ntp' | 'dns' | 'snmp' | 'sftp' | 'ldap' | 'https' | 'smtp' | 'proxy';

export interface ExternalFlow {
  direction: 'inbound' | 'outbound';
  /** The node roles on our side of the flow. */
  roles: readonly BaseRole[];
  peer: string;
  kind: ExternalKind;
  ports: readonly PortSpec[];
  purpose: string;
  source: string;
}

export const EXTERNAL_FLOWS: readonly ExternalFlow[] = [
  { direction: 'outbound', roles: ['application'], peer: 'Cisco Unified Communications Manager (UCM)', kind: 'https', ports: tcp(8443), purpose: 'Device management', source: 'Outbound Communications to Devices from the Application/Unified nodes' },
  { direction: 'outbound', roles: ['application'], peer: 'Cisco Unity Connection (CUXN)', kind: 'https', ports: tcp(8443), purpose: 'Device management', source: 'Outbound Communications to Devices from the Application/Unified nodes' },
  { direction: 'outbound', roles: ['application'], peer: 'Webex', kind: 'https', ports: tcp(443), purpose: 'Device management', source: 'Outbound Communications to Devices from the Application/Unified nodes' },
  { direction: 'outbound', roles: ['application'], peer: 'LDAP directory', kind: 'ldap', ports: [...tcp(389, 636), ...udp(389, 636)], purpose: 'Directory (636 is LDAP over TLS)', source: 'Outbound Communications to Devices from the Application/Unified nodes' },
  { direction: 'outbound', roles: ['application'], peer: 'Single Sign-on (SSO)', kind: 'https', ports: tcp(443), purpose: 'Identity provider', source: 'Outbound Communications to Devices from the Application/Unified nodes' },
  { direction: 'outbound', roles: ['application'], peer: 'Cisco HCM-F', kind: 'https', ports: tcp(8443), purpose: 'Device management', source: 'Outbound Communications to Devices from the Application/Unified nodes' },
  { direction: 'outbound', roles: ['webproxy'], peer: 'API clients', kind: 'https', ports: tcp(443), purpose: 'API sync and async responses', source: 'Outbound to external systems from the proxy node' },
  { direction: 'outbound', roles: ALL_ROLES, peer: 'SNMP managers', kind: 'snmp', ports: [...tcp(162), ...udp(162)], purpose: 'SNMP traps', source: 'Outbound to external systems from all nodes' },
  { direction: 'outbound', roles: ALL_ROLES, peer: 'Backup destinations', kind: 'sftp', ports: tcp(22), purpose: 'SFTP backups', source: 'Outbound to external systems from all nodes' },
  { direction: 'outbound', roles: ALL_ROLES, peer: 'NTP servers', kind: 'ntp', ports: udp(123), purpose: 'Time', source: 'Outbound to external systems from all nodes' },
  { direction: 'outbound', roles: ALL_ROLES, peer: 'DNS resolvers', kind: 'dns', ports: [...udp(53), ...tcp(53)], purpose: 'Name resolution (UDP, and TCP for large answers)', source: 'Network requirements of comparable appliances (seeds 000-004)' },
  { direction: 'inbound', roles: ['webproxy'], peer: 'Users and API clients', kind: 'https', ports: tcp(443), purpose: 'Web access and API requests', source: 'Inbound communications from external systems to the proxy node' },
  { direction: 'inbound', roles: ALL_ROLES, peer: 'Administrators', kind: 'sftp', ports: tcp(22), purpose: 'SSH and SFTP for management and file transfers', source: 'Inbound communications to all nodes' },
];

/** The catalog's port for a service, e.g. `portOf('cluster')` = 8443; throws for an unknown name. */
export function portOf(serviceName: string, index = 0): number {
  const service = serviceNamed(serviceName);
  const port = service?.ports[index];
  if (!port) throw new Error(`no port ${index} for service "${serviceName}" in the catalog`);
  return port.port;
}
