// Everything the product derives from the catalog, in one place: the
// services of a node, the flows between two nodes, the ports a node keeps
// from an outsider, the port a catalog port has on this node, and the
// external flows. The firewall compiler, `cluster check`, the
// network-requirements report and `diag connectivity` all ask here, so they
// cannot disagree.

import type { DaemonOptions } from '../core/runtime.js';
import { CLIENT_PORTS, EXTERNAL_FLOWS, NODE_FLOWS, PRIMARY_FLOW, type ClientProtocol, type ExternalFlow, type ExternalKind } from './flows.js';
import { effectiveRoles, type RoleName } from './roles.js';
import { SERVICES, serviceNamed, type PortSpec, type Protocol, type ServiceSpec } from './services.js';

/** The services a node with these roles may run. */
export function servicesFor(roles: readonly RoleName[]): ServiceSpec[] {
  const effective = effectiveRoles(roles);
  return SERVICES.filter((s) => s.roles.some((r) => effective.has(r)));
}

/** The catalog's port for a service, e.g. `portOf('cluster')` = 8443; throws for an unknown name. */
export function portOf(serviceName: string, index = 0): number {
  const port = serviceNamed(serviceName)?.ports[index];
  if (!port) throw new Error(`no port ${index} for service "${serviceName}" in the catalog`);
  return port.port;
}

/** One end of a node-to-node flow: its roles, and whether it is the cluster's primary. */
export interface NodeEnd {
  roles: readonly RoleName[];
  primary?: boolean;
}

/** One port one node opens connections to on another, and why. */
export interface FlowPort {
  service: string;
  port: number;
  protocol: Protocol;
  purpose: string;
  source: string;
}

const portKey = (p: { port: number; protocol: Protocol }) => `${p.port}/${p.protocol}`;
const byPort = (a: { port: number; protocol: Protocol }, b: { port: number; protocol: Protocol }) => a.port - b.port || a.protocol.localeCompare(b.protocol);

/**
 * The ports `from` connects to on `to`: along the seed's node-to-node flows
 * (either way when the flow is bidirectional), only where `to` serves the
 * flow's service, plus the cluster agent for the primary. One row per port,
 * sorted by port.
 */
export function flowsBetween(from: NodeEnd, to: NodeEnd): FlowPort[] {
  const a = effectiveRoles(from.roles);
  const b = effectiveRoles(to.roles);
  const served = new Set(servicesFor(to.roles).map((s) => s.name));
  const out = new Map<string, FlowPort>();
  const add = (flow: { service: string; ports: readonly PortSpec[]; purpose: string; source: string }) => {
    if (!served.has(flow.service)) return;
    for (const p of flow.ports) if (!out.has(portKey(p))) out.set(portKey(p), { service: flow.service, port: p.port, protocol: p.protocol, purpose: flow.purpose, source: flow.source });
  };
  for (const flow of NODE_FLOWS) {
    if ((a.has(flow.from) && b.has(flow.to)) || (flow.bidirectional && a.has(flow.to) && b.has(flow.from))) add(flow);
  }
  if (from.primary) add(PRIMARY_FLOW);
  return [...out.values()].sort(byPort);
}

/** Whether `from` has a flow to the service `service` on a node with the roles of `to`. */
export function reachesService(from: NodeEnd, service: string, to: NodeEnd): boolean {
  return flowsBetween(from, to).some((f) => f.service === service);
}

/**
 * The cluster-scoped ports `to` serves that `from` has no flow to: there,
 * `from` is an outsider and the firewall must drop it.
 */
export function outsiderPorts(from: NodeEnd, to: NodeEnd): { service: string; port: number; protocol: Protocol }[] {
  const reached = new Set(flowsBetween(from, to).map(portKey));
  return servicesFor(to.roles)
    .filter((s) => s.scope === 'cluster')
    .flatMap((s) => s.ports.filter((p) => !reached.has(portKey(p))).map((p) => ({ service: s.name, port: p.port, protocol: p.protocol })))
    .sort(byPort);
}

// ---------------------------------------------------------------------------
// The port a catalog port has on this node: an appliance uses the catalog's,
// a development or test daemon may move the web front end and the agent.

export type LocalPorts = Pick<DaemonOptions, 'clusterPort' | 'webPorts'>;

/** The services whose port a daemon option may move, and which option moves it. */
const MOVABLE: Record<string, (local: LocalPorts) => number> = {
  https: (local) => local.webPorts.https,
  http: (local) => local.webPorts.http,
  cluster: (local) => local.clusterPort,
};

/** The catalog's own ports: what an appliance uses. */
export function catalogPorts(): LocalPorts {
  return { clusterPort: portOf('cluster'), webPorts: { https: portOf('https'), http: portOf('http') } };
}

/** Catalog port → the port it really has on a node started with `local` (the ports not moved map to themselves). */
export function localPortMap(local: LocalPorts): Record<number, number> {
  return Object.fromEntries(Object.entries(MOVABLE).map(([service, option]) => [portOf(service), option(local)]));
}

/** The port a catalog port really has on a node started with `local`. */
export function localPort(port: number, local: LocalPorts): number {
  return localPortMap(local)[port] ?? port;
}

// ---------------------------------------------------------------------------
// External flows.

/** The external flows of a node with these roles (or of any node of the cluster, given all their roles). */
export function externalFlowsFor(roles: readonly RoleName[], direction?: ExternalFlow['direction']): ExternalFlow[] {
  const effective = effectiveRoles(roles);
  return EXTERNAL_FLOWS.filter((f) => (!direction || f.direction === direction) && f.roles.some((r) => effective.has(r)));
}

/** The one outbound flow towards a system configured on the node (an NTP server, a resolver, the mail relay). */
export function configuredFlow(kind: Extract<ExternalKind, 'ntp' | 'dns' | 'smtp'>): ExternalFlow {
  const found = EXTERNAL_FLOWS.filter((f) => f.direction === 'outbound' && f.kind === kind);
  if (found.length !== 1) throw new Error(`the catalog has ${found.length} outbound ${kind} flows, not one`);
  return found[0]!;
}

/** The port of an outbound flow for one transport, e.g. DNS over TCP. */
export function flowPort(flow: ExternalFlow, protocol: Protocol): number {
  const port = flow.ports.find((p) => p.protocol === protocol);
  if (!port) throw new Error(`the catalog's ${flow.kind} flow has no ${protocol} port`);
  return port.port;
}

/** The port a client connects to when nothing names one (the protocol's well-known port). */
export function defaultPort(protocol: ClientProtocol): number {
  return CLIENT_PORTS[protocol];
}
