// `cluster ...`: join nodes, look at them, provision them, run commands on
// them and check the flows between them.

import type { ClusterService, InventoryNode } from '../cluster/service.js';
import { ipAddress, text } from './argtypes.js';
import { badInput, failure, reply, type ArgType, type Command, type Context, type Group, type Json } from './types.js';

function clusterOf(ctx: Context): ClusterService {
  if (!ctx.services.cluster) throw failure('no-cluster-agent', 'the cluster subsystem is not running in this daemon');
  return ctx.services.cluster;
}

const label = (n: InventoryNode) => `${n.hostname}[${n.address}]`;

const joinCode: ArgType<string> = {
  hint: '<join-code>',
  parse(value) {
    if (!/^[0-9A-Fa-f]{5}-[0-9A-Fa-f]{5}$/.test(value)) throw badInput('bad-code', `<join-code>: "${value}" is not a join code like 3FA2C-91B0D (printed by "cluster prepnode")`);
    return value.toUpperCase();
  },
  redact: () => '***',
};

const member: ArgType<string> = { ...ipAddress('<ip>'), complete: (ctx) => clusterOf(ctx).inventory().map((n) => n.address) };
const target: ArgType<string> = {
  hint: '<all|notme|ip|role>',
  parse: (value) => value,
  complete: (ctx) => ['all', 'notme', 'webproxy', 'application', 'database', 'unified', ...clusterOf(ctx).inventory().map((n) => n.address)],
};

const commands: Command[] = [
  {
    words: ['cluster', 'prepnode'],
    summary: 'Make this node joinable for 15 minutes and print what the primary needs',
    run(ctx) {
      const prepared = clusterOf(ctx).prepnode();
      return reply.blocks(
        [
          { kind: 'tree', value: { address: prepared.address, 'join code': prepared.code, 'certificate fingerprint': prepared.fingerprint, 'joinable until': prepared.until } },
          { kind: 'text', text: `On the primary: cluster add ${prepared.address} ${prepared.code}` },
        ],
        prepared,
      );
    },
  },
  {
    words: ['cluster', 'add'],
    summary: 'Add a prepared node to the cluster (run on the primary)',
    args: [
      { name: 'ip', type: ipAddress() },
      { name: 'code', type: joinCode, optional: true },
    ],
    async run(ctx, args) {
      const code = (args.code as string | undefined) ?? joinCode.parse((await ctx.ask({ text: `join code printed by "cluster prepnode" on ${args.ip as string}`, secret: true })).trim());
      const node = await clusterOf(ctx).add(args.ip as string, code, ctx.progress);
      return reply.blocks([{ kind: 'text', text: `added ${label(node)} (${node.roles.join(',')}, data centre ${node.dataCentre}); run "cluster provision" when all nodes are added` }], node as unknown as Json);
    },
  },
  {
    words: ['cluster', 'del'],
    summary: 'Remove a node; its access to every other node ends at once',
    args: [{ name: 'ip', type: member }],
    confirm: (args) => `Remove ${args.ip as string} from the cluster? Its cluster ports close on every node.`,
    async run(ctx, args) {
      const report = await clusterOf(ctx).del(args.ip as string, ctx.progress);
      return reply.text(`removed ${args.ip as string}; provisioned ${report.nodes.join(', ')}`);
    },
  },
  {
    words: ['cluster', 'list'],
    summary: 'List the member nodes',
    run(ctx) {
      const nodes = clusterOf(ctx).inventory();
      return reply.table(
        ['hostname', 'address', 'roles', 'data centre', 'primary', 'last seen'],
        nodes.map((n) => [n.hostname, n.address, n.roles.join(','), n.dataCentre, n.primary ? 'yes' : '', n.lastSeen ?? '']),
        nodes as unknown as Json,
      );
    },
  },
  {
    words: ['cluster', 'status'],
    summary: 'Nodes by data centre and role; unreachable ones shown as not responding',
    async run(ctx) {
      const nodes = await clusterOf(ctx).status();
      const lines: string[] = [];
      const centres = [...new Set(nodes.filter((n) => n.responding).map((n) => n.dataCentre)), ...(nodes.some((n) => !n.responding) ? ['unknown'] : [])];
      for (const centre of centres) {
        lines.push(`Data Centre: ${centre}`);
        const inCentre = nodes.filter((n) => (n.responding ? n.dataCentre === centre : centre === 'unknown'));
        for (const role of ['application', 'webproxy', 'database']) {
          const withRole = inCentre.filter((n) => n.roles.includes(role as never) || (role !== 'webproxy' && n.roles.includes('unified')));
          withRole.forEach((n, i) => lines.push(`${i === 0 ? `     ${role} : ` : ' '.repeat(role.length + 8)}${label(n)}${n.responding ? '' : ' (not responding)'}`));
        }
      }
      return reply.blocks([{ kind: 'text', text: lines.join('\n') || 'this node is in no cluster' }], nodes as unknown as Json);
    },
  },
  {
    words: ['cluster', 'provision'],
    summary: 'Push the inventory to every node: all validate, then all commit, or none changes',
    async run(ctx) {
      const report = await clusterOf(ctx).provision(ctx.progress);
      return reply.text(`provisioned ${report.nodes.join(', ')}`, report as unknown as Json);
    },
  },
  {
    words: ['cluster', 'run'],
    summary: 'Run a command on other nodes: all, notme, an address or a role',
    args: [
      { name: 'target', type: target },
      { name: 'command', type: text('<command>'), rest: true },
    ],
    async run(ctx, args) {
      const timeout = 30_000;
      const results = await clusterOf(ctx).run(args.target as string, args.command as string[], ctx.caller.user, timeout);
      const text = results.map((r) => `== ${label(r.node)}: ${r.exitStatus === 0 ? 'ok' : `failed (${r.exitStatus})`}\n${r.text.trimEnd()}`).join('\n');
      const failed = results.some((r) => r.exitStatus !== 0);
      return reply.blocks([{ kind: 'text', text }], results.map((r) => ({ node: r.node.address, exitStatus: r.exitStatus, output: r.text })), failed ? 1 : 0);
    },
  },
  {
    words: ['cluster', 'check'],
    summary: 'Test, from every node, every flow the catalog expects between the nodes',
    async run(ctx) {
      const rows = await clusterOf(ctx).check();
      const failed = rows.some((r) => r.outcome !== 'ok');
      return reply.blocks(
        [{ kind: 'table', columns: ['from', 'to', 'port', 'service', 'result', 'time'], rows: rows.map((r) => [r.from, r.to, String(r.port), r.service, r.outcome, r.ms !== undefined ? `${r.ms.toFixed(1)} ms` : '']) }],
        rows as unknown as Json,
        failed ? 1 : 0,
      );
    },
  },
];

export const clusterGroup: Group = { word: 'cluster', summary: 'cluster management', commands };
