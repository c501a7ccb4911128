// The services of the catalog: what listens on a node, on which ports, for
// whom, on which roles. The one place where the node's own ports are written;
// the firewall ruleset, `cluster check`, the network-requirements report,
// `app status` and the banner are derived from it (catalog/derive.ts). Each
// entry cites the table of seed 003 ("Network Security") it comes from.

import { BASE_ROLES, type BaseRole } from './roles.js';

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

const ALL_ROLES = BASE_ROLES;
export const tcp = (...ports: number[]): PortSpec[] => ports.map((port) => ({ port, protocol: 'tcp' }));
export const udp = (...ports: number[]): PortSpec[] => ports.map((port) => ({ port, protocol: 'udp' }));

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
      "The service list's Application row also names 27017 and 27030: the list has no Unified row, so that row describes a unified node " +
      '(application + database). A pure application node runs no database: the seed\'s Application-to-Application table ("only relevant ' +
      'where the database node is separate") has no database flow, which replica-set members or arbiters on application nodes would need.',
  },
];

export function serviceNamed(name: string): ServiceSpec | undefined {
  return SERVICES.find((s) => s.name === name);
}

