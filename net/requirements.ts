// The network-requirements document of this very cluster: every inbound and
// outbound flow of every node, from the catalog, the cluster inventory and
// the external systems configured here. What vendors ship as a static port
// PDF, generated from the live topology.

import { hostname as osHostname } from 'node:os';
import { EXTERNAL_FLOWS, NODE_FLOWS, effectiveRoles, servicesFor, type RoleName } from '../firewall/catalog.js';
import type { Store } from '../store/db.js';
import { nodeOrDefault } from '../store/node.js';
import { backupLocations, notifyTargets } from './locations.js';
import { effectivePort, parseUri } from './uri.js';

export interface RequirementRow {
  direction: 'inbound' | 'outbound' | 'internal';
  source: string;
  destination: string;
  protocol: string;
  port: number;
  purpose: string;
  reference: string;
}

interface Member {
  label: string;
  address: string;
  roles: RoleName[];
}

export function members(store: Store, ownAddress: string): Member[] {
  const rows = store.db.prepare('SELECT address, hostname, roles FROM cluster_nodes ORDER BY address').all() as { address: string; hostname: string; roles: string }[];
  const list = rows.map((r) => ({ label: `${r.hostname}[${r.address}]`, address: r.address, roles: JSON.parse(r.roles) as RoleName[] }));
  const node = nodeOrDefault(store, osHostname());
  if (!list.some((m) => m.address === ownAddress)) list.unshift({ label: `${node.hostname}[${ownAddress}]`, address: ownAddress, roles: node.roles });
  return list;
}

export function requirements(store: Store, ownAddress: string): RequirementRow[] {
  const nodes = members(store, ownAddress);
  const rows: RequirementRow[] = [];
  const management = store.get<string[]>('firewall.management') ?? [];

  // Inbound from outside the cluster: public and management services.
  for (const node of nodes) {
    for (const service of servicesFor(node.roles)) {
      if (service.scope === 'cluster') continue;
      const source = service.scope === 'public' ? 'any' : management.length ? management.join(', ') : 'management stations (any until set)';
      for (const port of service.ports) rows.push({ direction: 'inbound', source, destination: node.label, protocol: port.protocol, port: port.port, purpose: service.purpose, reference: service.source });
    }
  }

  // Between the nodes, per the seed's node-to-node tables.
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue;
      const fromRoles = effectiveRoles(from.roles);
      const toRoles = effectiveRoles(to.roles);
      const seen = new Set<string>();
      for (const flow of NODE_FLOWS) {
        const forward = fromRoles.has(flow.from) && toRoles.has(flow.to);
        const backward = flow.bidirectional && fromRoles.has(flow.to) && toRoles.has(flow.from);
        if (!forward && !backward) continue;
        for (const port of flow.ports) {
          const key = `${port.protocol}/${port.port}`;
          if (seen.has(key)) continue;
          seen.add(key);
          rows.push({ direction: 'internal', source: from.label, destination: to.label, protocol: port.protocol, port: port.port, purpose: flow.purpose, reference: flow.source });
        }
      }
    }
  }

  // Outbound: the systems configured on this node, then the catalog's others.
  const node = nodeOrDefault(store, osHostname());
  const self = nodes[0]!.label;
  const outbound = (destination: string, protocol: string, port: number, purpose: string, reference: string) =>
    rows.push({ direction: 'outbound', source: self, destination, protocol, port, purpose, reference });
  for (const server of node.ntp) outbound(server, 'udp', 123, 'NTP', 'Outbound to external systems from all nodes');
  for (const server of node.dns) {
    outbound(server, 'udp', 53, 'DNS', 'Network requirements of comparable appliances (seeds 000-004)');
    outbound(server, 'tcp', 53, 'DNS (large answers, zone data)', 'Network requirements of comparable appliances (seeds 000-004)');
  }
  for (const location of backupLocations(store)) {
    const port = effectivePort(location.uri);
    if (location.uri.host && port) outbound(location.uri.host, 'tcp', port, `Backups to "${location.name}" (${location.uri.scheme})`, 'Outbound to external systems from all nodes');
  }
  const relay = store.get<string>('notify.emailrelay');
  for (const target of notifyTargets(store)) {
    if (target.uri.scheme === 'snmp') outbound(target.uri.host!, 'udp', effectivePort(target.uri)!, `SNMP traps (${target.level})`, 'Outbound to external systems from all nodes');
  }
  if (relay && notifyTargets(store).some((t) => t.uri.scheme === 'mailto')) outbound(relay, 'tcp', 25, 'Mail relay for notifications', 'platform-cli reference: notify emailrelay');
  const proxy = store.getSecret('network.proxy');
  if (proxy) {
    const uri = parseUri(proxy);
    outbound(uri.host!, 'tcp', effectivePort(uri)!, 'HTTP proxy (CONNECT)', 'Network requirements of comparable appliances (seeds 000-004)');
  }
  const configuredKinds = new Set(['ntp', ...(node.dns.length ? ['dns'] : [])]);
  for (const flow of EXTERNAL_FLOWS.filter((f) => f.direction === 'outbound' && !configuredKinds.has(f.kind))) {
    if (!nodes.some((n) => flow.roles.some((r) => effectiveRoles(n.roles).has(r)))) continue;
    for (const port of flow.ports) rows.push({ direction: 'outbound', source: `${flow.roles.join('/')} nodes`, destination: flow.peer, protocol: port.protocol, port: port.port, purpose: flow.purpose, reference: flow.source });
  }
  return rows;
}

const COLUMNS: (keyof RequirementRow)[] = ['direction', 'source', 'destination', 'protocol', 'port', 'purpose', 'reference'];

export function toMarkdown(rows: RequirementRow[], title: string): string {
  const sections: [RequirementRow['direction'], string][] = [
    ['inbound', 'Inbound to the cluster'],
    ['internal', 'Between the cluster nodes'],
    ['outbound', 'Outbound from the cluster'],
  ];
  const lines = [`# ${title}`, ''];
  for (const [direction, heading] of sections) {
    const part = rows.filter((r) => r.direction === direction);
    if (!part.length) continue;
    lines.push(`## ${heading}`, '', '| source | destination | protocol | port | purpose | reference |', '| --- | --- | --- | --- | --- | --- |');
    for (const r of part) lines.push(`| ${r.source} | ${r.destination} | ${r.protocol.toUpperCase()} | ${r.port} | ${r.purpose} | ${r.reference} |`);
    lines.push('');
  }
  return lines.join('\n');
}

export function toCsv(rows: RequirementRow[]): string {
  const cell = (value: string | number) => (/[",\n]/.test(String(value)) ? `"${String(value).replace(/"/g, '""')}"` : String(value));
  return [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}
