// The catalog's data and its one module of derivations (catalog/derive.ts).

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  catalogPorts,
  configuredFlow,
  defaultPort,
  externalFlowsFor,
  flowPort,
  flowsBetween,
  localPort,
  localPortMap,
  outsiderPorts,
  portOf,
  reachesService,
  servicesFor,
} from '../../catalog/derive.js';
import { CLIENT_PORTS, EXTERNAL_FLOWS, NODE_FLOWS, PRIMARY_FLOW } from '../../catalog/flows.js';
import { effectiveRoles, type RoleName } from '../../catalog/roles.js';
import { SERVICES, serviceNamed } from '../../catalog/services.js';

const node = (...roles: RoleName[]) => ({ roles });
const ports = (flows: { port: number }[]) => flows.map((f) => f.port);

describe('the catalog data', () => {
  it('gives every role SSH, SNMP and the cluster port, and public web only to proxies and applications', () => {
    const of = (role: 'webproxy' | 'application' | 'database') => servicesFor([role]).flatMap((s) => s.ports.map((p) => p.port));
    for (const role of ['webproxy', 'application', 'database'] as const) expect(of(role)).toEqual(expect.arrayContaining([22, 161, 162, 8443]));
    expect(of('webproxy')).toEqual(expect.arrayContaining([80, 443]));
    expect(of('database')).not.toContain(443);
    expect(of('database')).toEqual(expect.arrayContaining([27017, 27019, 27020, 27030]));
    expect(of('application')).not.toContain(27017);
    expect(servicesFor(['unified']).map((s) => s.name)).toEqual(servicesFor(['application', 'database']).map((s) => s.name));
    expect(servicesFor([])).toEqual([]);
    expect([...effectiveRoles(['unified', 'webproxy'])].sort()).toEqual(['application', 'database', 'webproxy']);
  });

  it('cites a seed table for every service and flow, and keeps both sides of the database disagreement', () => {
    for (const entry of [...SERVICES, ...NODE_FLOWS, ...EXTERNAL_FLOWS, PRIMARY_FLOW]) expect(entry.source.length, JSON.stringify(entry)).toBeGreaterThan(10);
    const database = serviceNamed('database')!;
    expect(database.source).toMatch(/27017, 27030/);
    expect(database.source).toMatch(/27019, 27020/);
    expect(database.note).toMatch(/disagrees/);
    for (const [from, to] of [['application', 'database'], ['database', 'database']]) {
      const flows = NODE_FLOWS.filter((f) => f.service === 'database' && f.from === from && f.to === to);
      expect(flows.flatMap((f) => ports([...f.ports])).sort()).toEqual([27017, 27019, 27020, 27030]);
      expect(flows.find((f) => f.ports.some((p) => p.port === 27019))!.source).toBe('Service and Ports list, Database row');
      for (const flow of flows) expect(flow.note).toMatch(/27017 and 27030.*27019 and 27020/);
    }
    // cluster check probes node-to-node flows with TCP connections: they are all TCP.
    for (const flow of NODE_FLOWS) for (const p of flow.ports) expect(p.protocol).toBe('tcp');
  });

  it('uses only ports of its own services in node-to-node flows', () => {
    for (const flow of [...NODE_FLOWS, PRIMARY_FLOW]) {
      const service = serviceNamed(flow.service)!;
      for (const p of flow.ports) expect(service.ports, `${flow.service} ${p.port}`).toContainEqual(p);
    }
  });

  it('names the same port in an external flow as the protocol default a client uses', () => {
    expect(flowPort(configuredFlow('dns'), 'udp')).toBe(defaultPort('dns'));
    expect(flowPort(configuredFlow('dns'), 'tcp')).toBe(defaultPort('dns'));
    expect(flowPort(configuredFlow('ntp'), 'udp')).toBe(defaultPort('ntp'));
    expect(flowPort(configuredFlow('smtp'), 'tcp')).toBe(defaultPort('smtp'));
    const byKind = { sftp: CLIENT_PORTS.ssh, snmp: CLIENT_PORTS.snmpTrap } as const;
    for (const flow of EXTERNAL_FLOWS.filter((f) => f.kind === 'sftp' || f.kind === 'snmp')) {
      for (const p of flow.ports) expect(p.port, flow.peer).toBe(byKind[flow.kind as keyof typeof byKind]);
    }
    expect(() => flowPort(configuredFlow('ntp'), 'tcp')).toThrow(/no tcp port/);
  });
});

describe('flows between two nodes', () => {
  it('follows the seed tables, either way when bidirectional, only towards what the destination serves', () => {
    expect(flowsBetween(node('webproxy'), node('application')).map((f) => [f.port, f.service])).toEqual([
      [443, 'https'],
      [8443, 'cluster'],
    ]);
    expect(ports(flowsBetween(node('application'), node('webproxy')))).toEqual([8443]);
    expect(ports(flowsBetween(node('webproxy'), node('database')))).toEqual([]);
    expect(ports(flowsBetween(node('database'), node('webproxy')))).toEqual([]);
    expect(ports(flowsBetween(node('application'), node('database')))).toEqual([8443, 27017, 27019, 27020, 27030]);
    expect(ports(flowsBetween(node('database'), node('application')))).toEqual([8443]);
    expect(ports(flowsBetween(node('database'), node('database')))).toEqual([8443, 27017, 27019, 27020, 27030]);
    expect(ports(flowsBetween(node('unified'), node('unified')))).toEqual([8443, 27017, 27019, 27020, 27030]);
    expect(ports(flowsBetween(node('webproxy'), node('unified')))).toEqual([443, 8443]);
  });

  it('cites the table of each flow', () => {
    const [https] = flowsBetween(node('webproxy'), node('application'));
    expect(https).toMatchObject({ protocol: 'tcp', purpose: 'User access', source: 'Proxy to Unified/Application Node' });
  });

  it('lets the primary reach every agent, but not a node with no role yet (it serves nothing)', () => {
    expect(ports(flowsBetween({ roles: ['database'], primary: true }, node('webproxy')))).toEqual([8443]);
    expect(flowsBetween({ roles: ['database'], primary: true }, node('webproxy'))[0]!.source).toBe(PRIMARY_FLOW.source);
    expect(ports(flowsBetween({ roles: [], primary: true }, node('database')))).toEqual([8443]);
    expect(flowsBetween({ roles: ['unified'], primary: true }, node())).toEqual([]);
    expect(flowsBetween(node(), node('unified'))).toEqual([]);
  });

  it('says which cluster ports keep a node out', () => {
    expect(ports(outsiderPorts(node('webproxy'), node('database')))).toEqual([8443, 27017, 27019, 27020, 27030]);
    expect(ports(outsiderPorts(node('application'), node('database')))).toEqual([]);
    expect(ports(outsiderPorts(node('database'), node('application')))).toEqual([]);
    expect(ports(outsiderPorts(node('database'), node('webproxy')))).toEqual([8443]);
    expect(reachesService(node('application'), 'database', node('unified'))).toBe(true);
    expect(reachesService(node('webproxy'), 'database', node('unified'))).toBe(false);
  });
});

describe('the port a catalog port has on this node', () => {
  const embedded = { clusterPort: 18443, webPorts: { https: 9443, http: 9080 } };

  it('is the catalog port on an appliance', () => {
    const appliance = catalogPorts();
    expect(appliance).toEqual({ clusterPort: portOf('cluster'), webPorts: { https: portOf('https'), http: portOf('http') } });
    for (const service of SERVICES) for (const p of service.ports) expect(localPort(p.port, appliance)).toBe(p.port);
  });

  it('follows the daemon options where they move the web front end or the agent, and nothing else', () => {
    expect(localPortMap(embedded)).toEqual({ 443: 9443, 80: 9080, 8443: 18443 });
    expect(localPort(443, embedded)).toBe(9443);
    expect(localPort(8443, embedded)).toBe(18443);
    expect(localPort(27017, embedded)).toBe(27017);
    expect(localPort(22, embedded)).toBe(22);
  });

  it('throws for a service the catalog does not have', () => {
    expect(() => portOf('telnet')).toThrow(/no port 0 for service "telnet"/);
  });
});

describe('external flows', () => {
  it('belong to the roles of the seed tables', () => {
    const proxy = externalFlowsFor(['webproxy'], 'outbound').map((f) => f.peer);
    expect(proxy).toContain('API clients');
    expect(proxy).not.toContain('Cisco Unified Communications Manager (UCM)');
    expect(externalFlowsFor(['unified'], 'outbound').map((f) => f.peer)).toContain('Cisco Unified Communications Manager (UCM)');
    expect(externalFlowsFor([], 'outbound')).toEqual([]);
    expect(externalFlowsFor(['database'], 'inbound').map((f) => f.peer)).toEqual(['Administrators']);
  });

  it('has one flow per configured system, with the ports diag connectivity probes', () => {
    expect(configuredFlow('dns').ports).toEqual([
      { port: 53, protocol: 'udp' },
      { port: 53, protocol: 'tcp' },
    ]);
    expect(configuredFlow('ntp').ports).toEqual([{ port: 123, protocol: 'udp' }]);
    expect(configuredFlow('smtp').ports).toEqual([{ port: 25, protocol: 'tcp' }]);
  });
});

describe('the catalog floor', () => {
  it('imports only core/ and itself', () => {
    const dir = resolve(__dirname, '../../catalog');
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const [, spec] of text.matchAll(/from '(\.[^']+)'/g)) expect(spec, `${file} imports ${spec}`).toMatch(/^(\.\/[\w-]+|\.\.\/core\/[\w-]+)\.js$/);
    }
  });
});
