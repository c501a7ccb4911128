// The flows of the catalog: who talks to whom. Node-to-node flows (seed 003,
// "Network Communications between Nodes within the Cluster") drive the
// firewall's peer sets, `cluster check` and the report's internal rows;
// external flows ("Network Communications External to the Cluster") drive
// the report's outbound rows and `diag connectivity`. Derivations live in
// catalog/derive.ts, never beside the code that uses them.

import { BASE_ROLES, type BaseRole } from './roles.js';
import { tcp, udp, type PortSpec } from './services.js';

export interface NodeFlow {
  from: BaseRole;
  to: BaseRole;
  service: string;
  /** The ports of the service this flow uses (a subset, e.g. only 443 of https). */
  ports: readonly PortSpec[];
  purpose: string;
  /**
   * Either end may open the connection, towards an end that serves the
   * service (the seed's "bi-directional"). A database flow between an
   * application and a database node still connects to the database node only.
   */
  bidirectional: boolean;
  source: string;
  note?: string;
}

/**
 * Database access between two nodes. The seed's flow tables give 27017 and
 * 27030 (arbiter); its service list gives the database node 27019 and 27020.
 * The flows keep both, each citing its table, so that `cluster check` and the
 * network-requirements report ask for exactly what the firewall admits to the
 * database service.
 */
function databaseFlows(from: BaseRole, to: BaseRole, table: string): NodeFlow[] {
  const note = 'The seed disagrees: TCP 27017 and 27030 in the flow tables, 27019 and 27020 in the service list; all four are kept.';
  return [
    { from, to, service: 'database', ports: tcp(27017, 27030), purpose: 'Database access', bidirectional: true, source: table, note },
    { from, to, service: 'database', ports: tcp(27019, 27020), purpose: 'Database access', bidirectional: true, source: 'Service and Ports list, Database row', note },
  ];
}

export const NODE_FLOWS: readonly NodeFlow[] = [
  { from: 'webproxy', to: 'webproxy', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Proxy to Proxy Node' },
  { from: 'webproxy', to: 'application', service: 'https', ports: tcp(443), purpose: 'User access', bidirectional: false, source: 'Proxy to Unified/Application Node' },
  { from: 'webproxy', to: 'application', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Proxy to Unified/Application Node' },
  { from: 'application', to: 'application', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Application node to Application node; Unified Node to Unified node' },
  ...databaseFlows('application', 'database', 'Application Node to Database node; Unified Node to Unified node'),
  { from: 'application', to: 'database', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Application Node to Database node' },
  ...databaseFlows('database', 'database', 'Database Node to Database node; Unified Node to Unified node'),
  { from: 'database', to: 'database', service: 'cluster', ports: tcp(8443), purpose: 'Cluster communications', bidirectional: true, source: 'Database Node to Database node' },
];

/**
 * Not a table of the seed but of how a cluster is run: the primary adds,
 * provisions and runs commands on every member through its cluster agent.
 */
export const PRIMARY_FLOW = {
  service: 'cluster',
  ports: tcp(8443),
  purpose: 'Cluster administration from the primary (add, provision, run)',
  source: 'platform-cli reference: cluster add, provision and run act from the primary on every node',
} as const satisfies Omit<NodeFlow, 'from' | 'to' | 'bidirectional'>;

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
  { direction: 'outbound', roles: BASE_ROLES, peer: 'SNMP managers', kind: 'snmp', ports: [...tcp(162), ...udp(162)], purpose: 'SNMP traps', source: 'Outbound to external systems from all nodes' },
  { direction: 'outbound', roles: BASE_ROLES, peer: 'Backup destinations', kind: 'sftp', ports: tcp(22), purpose: 'SFTP backups', source: 'Outbound to external systems from all nodes' },
  { direction: 'outbound', roles: BASE_ROLES, peer: 'NTP servers', kind: 'ntp', ports: udp(123), purpose: 'NTP', source: 'Outbound to external systems from all nodes' },
  { direction: 'outbound', roles: BASE_ROLES, peer: 'DNS resolvers', kind: 'dns', ports: [...udp(53), ...tcp(53)], purpose: 'DNS (UDP, and TCP for large answers and zone data)', source: 'Network requirements of comparable appliances (seeds 000-004)' },
  { direction: 'outbound', roles: BASE_ROLES, peer: 'Mail relay', kind: 'smtp', ports: tcp(25), purpose: 'Mail relay for notifications', source: 'platform-cli reference: notify emailrelay (default port 25)' },
  { direction: 'inbound', roles: ['webproxy'], peer: 'Users and API clients', kind: 'https', ports: tcp(443), purpose: 'Web access and API requests', source: 'Inbound communications from external systems to the proxy node' },
  { direction: 'inbound', roles: BASE_ROLES, peer: 'Administrators', kind: 'sftp', ports: tcp(22), purpose: 'SSH and SFTP for management and file transfers', source: 'Inbound communications to all nodes' },
];

/**
 * The port a client on the node connects to when a URI or setting names
 * none: each protocol's well-known port (IANA), as the seed's Network URI
 * specification leaves `[:port]` optional. External flows above that use one
 * of these name the same number (test/catalog/derive.test.ts checks it).
 */
export const CLIENT_PORTS = {
  ftp: 21,
  ssh: 22,
  smtp: 25,
  dns: 53,
  http: 80,
  ntp: 123,
  snmpTrap: 162,
  https: 443,
  /** SOCKS proxies (RFC 1928; seed 004: "The default setting for SOCKS TCP Port is 1080"). */
  socks: 1080,
  /** A DHCP server, as the node's own lease renewals reach it (RFC 2131), and a DHCPv6 server (RFC 8415). */
  dhcp: 67,
  dhcpv6: 547,
} as const;
export type ClientProtocol = keyof typeof CLIENT_PORTS;
