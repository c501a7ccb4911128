// The network-requirements document of this very cluster: every inbound and
// outbound flow of every node, from the catalog, the cluster inventory and
// the external systems configured here. What vendors ship as a static port
// PDF, generated from the live topology.

import { hostname as osHostname } from 'node:os';
import { isIP } from 'node:net';
import { configuredFlow, externalFlowsFor, flowPort, flowsBetween, servicesFor } from '../catalog/derive.js';
import type { ExternalFlow } from '../catalog/flows.js';
import type { RoleName } from '../catalog/roles.js';
import type { Store } from '../store/db.js';
import { nodeOrDefault } from '../store/node.js';
import { backupDestinations, notifyTargets } from './locations.js';
import { effectivePort } from './uri.js';
import { egressOf, proxyAddress, proxyFor } from './connector.js';
import { updateSourceHost } from './egress.js';

export interface RequirementRow {
  direction: 'inbound' | 'outbound' | 'internal';
  source: string;
  destination: string;
  protocol: string;
  port: number;
  purpose: string;
  reference: string;
}

export interface Member {
  label: string;
  address: string;
  roles: RoleName[];
  primary: boolean;
}

export function members(store: Store, ownAddress: string): Member[] {
  const byAddress = store.inventory.list().sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const list = byAddress.map((r) => ({ label: `${r.hostname}[${r.address}]`, address: r.address, roles: r.roles, primary: r.primary }));
  const node = nodeOrDefault(store, osHostname());
  if (!list.some((m) => m.address === ownAddress)) list.unshift({ label: `${node.hostname}[${ownAddress}]`, address: ownAddress, roles: node.roles, primary: false });
  return list;
}

export function requirements(store: Store, ownAddress: string): RequirementRow[] {
  const nodes = members(store, ownAddress);
  const rows: RequirementRow[] = [];
  const management = store.settings.get('firewall.management');

  // Inbound from outside the cluster: public and management services.
  for (const node of nodes) {
    for (const service of servicesFor(node.roles)) {
      if (service.scope === 'cluster') continue;
      const source = service.scope === 'public' ? 'any' : management.length ? management.join(', ') : 'management stations (any until set)';
      for (const port of service.ports) rows.push({ direction: 'inbound', source, destination: node.label, protocol: port.protocol, port: port.port, purpose: service.purpose, reference: service.source });
    }
  }

  rows.push(...internalRequirements(nodes));

  // Outbound: the systems configured on this node, then the catalog's others.
  const node = nodeOrDefault(store, osHostname());
  const self = nodes[0]!.label;
  // With a proxy, TCP to a configured system goes through it (net/connector.ts); UDP cannot, and goes direct.
  const egress = egressOf(store);
  const way = (destination: string, protocol: string) => {
    if (!egress.proxy) return '';
    if (protocol === 'udp') return ' (UDP: direct to this server, never through the proxy)';
    // The relay is written host[:port]: the bypass list knows hosts.
    const host = isIP(destination) === 6 ? destination : destination.replace(/^\[([^\]]*)\](?::\d+)?$|:\d+$/, '$1');
    const proxy = proxyFor(egress, host);
    return proxy ? ` (through the proxy ${proxyAddress(proxy)})` : ' (direct: on the proxy bypass list)';
  };
  // In strict egress mode the rows say what the node's own output chain lets out (firewall egress).
  const strict = egress.policy?.mode === 'strict';
  const outbound = (destination: string, protocol: string, port: number, purpose: string, reference: string) =>
    rows.push({ direction: 'outbound', source: self, destination, protocol, port, purpose: `${purpose}${way(destination, protocol)}${strict ? '; allowed by strict egress' : ''}`, reference });
  const towards = (destination: string, flow: ExternalFlow) => {
    for (const port of flow.ports) outbound(destination, port.protocol, port.port, flow.purpose, flow.source);
  };
  for (const server of node.ntp) towards(server, configuredFlow('ntp'));
  for (const server of node.dns) towards(server, configuredFlow('dns'));
  for (const location of backupDestinations(store)) {
    const port = effectivePort(location.uri);
    if (location.uri.host && port) outbound(location.uri.host, 'tcp', port, `Backups to "${location.name}"${location.alternate ? ' (alternate)' : ''} (${location.uri.scheme})`, 'Outbound to external systems from all nodes');
  }
  const updates = updateSourceHost(store);
  // Seed 000 (OS updates over HTTPS 443, security patches on a regular schedule) and seed 003 (download locations are URIs).
  if (updates) outbound(updates.host, 'tcp', updates.port, 'OS security updates (security source)', 'Seed 000: OS updates and security patches; seed 003: download locations as URIs');
  const relay = store.settings.get('notify.emailrelay');
  for (const target of notifyTargets(store)) {
    if (target.uri.scheme === 'snmp') outbound(target.uri.host!, 'udp', effectivePort(target.uri)!, `SNMP traps (${target.level})`, 'Outbound to external systems from all nodes');
  }
  if (relay && notifyTargets(store).some((t) => t.uri.scheme === 'mailto')) {
    const smtp = configuredFlow('smtp');
    // The relay is stored as `host[:port]` (notify emailrelay); the catalog's port when none is given.
    const port = /^(?:\[[^\]]*\]|[^:]*):(\d+)$/.exec(relay)?.[1];
    outbound(relay, 'tcp', port ? Number(port) : flowPort(smtp, 'tcp'), smtp.purpose, smtp.source);
  }
  if (egress.proxy) {
    const { proxy } = egress;
    const kind = proxy.scheme === 'socks5' ? 'SOCKS5 proxy: every outbound TCP connection not on the bypass list' : 'HTTP proxy (CONNECT): every outbound TCP connection not on the bypass list';
    rows.push({ direction: 'outbound', source: self, destination: proxy.host!, protocol: 'tcp', port: effectivePort(proxy)!, purpose: kind, reference: proxy.scheme === 'socks5' ? 'Seed 004: SOCKS-compliant proxy servers' : 'Seed 002: Proxy (HTTP CONNECT tunnelling)' });
  }
  const configuredKinds = new Set(['ntp', 'smtp', ...(node.dns.length ? ['dns'] : [])]);
  for (const flow of externalFlowsFor(nodes.flatMap((n) => n.roles), 'outbound').filter((f) => !configuredKinds.has(f.kind))) {
    for (const port of flow.ports) rows.push({ direction: 'outbound', source: `${flow.roles.join('/')} nodes`, destination: flow.peer, protocol: port.protocol, port: port.port, purpose: `${flow.purpose}${strict ? '; dropped by strict egress until configured' : ''}`, reference: flow.source });
  }
  return rows;
}

/** Between the nodes: the flows the firewall admits and `cluster check` expects (catalog/derive.ts). */
export function internalRequirements(nodes: readonly Member[]): RequirementRow[] {
  return nodes.flatMap((from) =>
    nodes
      .filter((to) => to !== from)
      .flatMap((to) =>
        flowsBetween(from, to).map((flow) => ({ direction: 'internal' as const, source: from.label, destination: to.label, protocol: flow.protocol, port: flow.port, purpose: flow.purpose, reference: flow.source })),
      ),
  );
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
