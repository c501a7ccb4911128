// `cluster ...`: join nodes, look at them, provision them, run commands on
// them and check the flows between them.

import type { CheckRow, ClusterService } from '../cluster/service.js';
import type { InventoryNode } from '../store/inventory.js';
import { choice, commandLine, integer, ipAddress } from '../core/argtypes.js';
import { ROLE_NAMES } from '../catalog/roles.js';
import { json } from '../core/json-shape.js';
import { formatTime } from '../core/time.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Block } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';

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

/** The reference's `cluster status` aligns further nodes of a role under the first one of "application". */
const CONTINUATION = ' '.repeat('     application : '.length);

/** from × to: "ok", or what went wrong between the two nodes ("-" where the catalog expects nothing). */
function checkMatrix(rows: CheckRow[]): { columns: string[]; rows: string[][] } {
  const nodes = [...new Set(rows.flatMap((r) => [r.from, r.to]))].sort();
  const cell = (from: string, to: string) => {
    if (from === to) return '';
    const pair = rows.filter((r) => r.from === from && r.to === to);
    const failed = pair.filter((r) => !r.pass);
    if (failed.length === 0) return pair.some((r) => r.expected === 'open') ? 'ok' : '-';
    return [...new Set(failed.map((r) => (r.expected === 'blocked' ? `${r.port} open, expected blocked` : `${r.port} ${r.outcome}`)))].join(', ');
  };
  return { columns: ['from \\ to', ...nodes], rows: nodes.map((from) => [from, ...nodes.map((to) => cell(from, to))]) };
}

const memberShape = {
  address: json.string(),
  hostname: json.string(),
  roles: json.array(json.oneOf(...ROLE_NAMES)),
  dataCentre: json.string(),
  primary: json.boolean(),
  fingerprint: json.nullable(json.string()),
  lastSeen: json.nullable(json.time()),
};
const memberJson = (n: InventoryNode) => ({ address: n.address, hostname: n.hostname, roles: n.roles, dataCentre: n.dataCentre, primary: n.primary, fingerprint: n.fingerprint ?? null, lastSeen: n.lastSeen ?? null });
const reportShape = json.object({ nodes: json.array(json.string()), left: json.nullable(json.boolean()) });
const reportJson = (r: { nodes: string[]; left?: boolean }) => ({ nodes: r.nodes, left: r.left ?? null });

const commands: Command[] = [
  defineCommand({
    words: ['cluster', 'prepnode'],
    summary: 'Make this node joinable for 15 minutes and print what the primary needs',
    json: json.object({ code: json.string(), fingerprint: json.string(), address: json.string(), until: json.time() }),
    async run(ctx) {
      const prepared = await clusterOf(ctx).prepnode();
      return reply.blocks(
        [
          { kind: 'tree', value: { address: prepared.address, 'join code': prepared.code, 'certificate fingerprint': prepared.fingerprint, 'joinable until': formatTime(prepared.until) } },
          { kind: 'text', text: `On the primary: cluster add ${prepared.address} ${prepared.code}` },
        ],
        prepared,
      );
    },
  }),
  defineCommand({
    words: ['cluster', 'add'],
    summary: 'Add a prepared node to the cluster (run on the primary)',
    json: json.object(memberShape),
    args: [
      { name: 'ip', type: ipAddress() },
      { name: 'code', type: joinCode, optional: true },
    ],
    async run(ctx, { ip, code: given }) {
      const code = given ?? joinCode.parse((await ctx.ask({ text: `join code printed by "cluster prepnode" on ${ip}`, secret: true })).trim());
      const node = await clusterOf(ctx).add(ip, code, ctx.progress);
      return reply.blocks([{ kind: 'text', text: `added ${label(node)} (${node.roles.join(',')}, data centre ${node.dataCentre}); run "cluster provision" when all nodes are added` }], memberJson(node));
    },
  }),
  defineCommand({
    words: ['cluster', 'del'],
    summary: 'Remove a node; its access to every other node ends at once',
    json: reportShape,
    args: [{ name: 'ip', type: member }],
    confirm: ({ ip }) => `Remove ${ip} from the cluster? Its cluster ports close on every node.`,
    async run(ctx, { ip }) {
      const report = await clusterOf(ctx).del(ip, ctx.progress);
      const done = reply.text(`removed ${ip}; provisioned ${report.nodes.join(', ')}`, reportJson(report));
      if (report.left) return done;
      return reply.blocks([...done.blocks, { kind: 'warning', text: `${ip} did not answer: it still believes it is a member (no other node accepts it). Power it off, or run "cluster prepnode" on it before it joins again.` }], reportJson(report));
    },
  }),
  defineCommand({
    words: ['cluster', 'list'],
    summary: 'List the member nodes',
    json: json.array(json.object(memberShape)),
    run(ctx) {
      const nodes = clusterOf(ctx).inventory();
      return reply.table(
        ['hostname', 'address', 'roles', 'data centre', 'primary', 'last seen'],
        nodes.map((n) => [n.hostname, n.address, n.roles.join(','), n.dataCentre, n.primary ? 'yes' : '', n.lastSeen ? formatTime(n.lastSeen) : '']),
        nodes.map(memberJson),
      );
    },
  }),
  defineCommand({
    words: ['cluster', 'status'],
    summary: 'Nodes by data centre and role; unreachable ones shown as not responding',
    json: json.array(json.object({ ...memberShape, responding: json.boolean() })),
    async run(ctx) {
      const nodes = await clusterOf(ctx).status();
      const lines: string[] = [];
      const centres = [...new Set(nodes.filter((n) => n.responding).map((n) => n.dataCentre)), ...(nodes.some((n) => !n.responding) ? ['unknown'] : [])];
      for (const centre of centres) {
        lines.push(`Data Centre: ${centre}`);
        const inCentre = nodes.filter((n) => (n.responding ? n.dataCentre === centre : centre === 'unknown'));
        for (const role of ['application', 'webproxy', 'database'] as const) {
          const withRole = inCentre.filter((n) => n.roles.includes(role) || (role !== 'webproxy' && n.roles.includes('unified')));
          withRole.forEach((n, i) => lines.push(`${i === 0 ? `     ${role} : ` : CONTINUATION}${label(n)}${n.responding ? '' : ' (not responding)'}`));
        }
      }
      return reply.blocks([{ kind: 'text', text: lines.join('\n') || 'this node is in no cluster' }], nodes.map((n) => ({ ...memberJson(n), responding: n.responding })));
    },
  }),
  defineCommand({
    words: ['cluster', 'provision'],
    summary: 'Push the inventory to every node: all validate, then all commit, or none changes',
    json: reportShape,
    args: [{ name: 'mode', type: choice('<fast|serial>', ['fast', 'serial'] as const), optional: true, summary: 'fast (default): all nodes at once; serial: one node at a time' }],
    async run(ctx, { mode }) {
      const service = clusterOf(ctx);
      const report = await service.provision(ctx.progress, service.inventory(), mode === 'serial');
      return reply.text(`provisioned ${report.nodes.join(', ')}`, reportJson(report));
    },
  }),
  defineCommand({
    words: ['cluster', 'run'],
    summary: 'Run a command on other nodes: all, notme, an address or a role',
    json: json.array(
      json.object({
        node: json.string(),
        hostname: json.string(),
        exitStatus: json.integer(),
        /** The node's own `--json` answer to the command; null when it failed. */
        data: json.nullable(json.any()),
        error: json.nullable(json.object({ code: json.string(), message: json.string() })),
      }),
    ),
    args: [
      { name: 'target', type: target },
      { name: 'command', type: commandLine(), rest: true },
    ],
    options: [{ name: 'timeout', type: integer('<seconds>', 1, 3600), summary: 'per node, before it counts as failed (default 30); give it before the target' }],
    async run(ctx, { target, command, timeout }) {
      const results = await clusterOf(ctx).run(target, command, ctx.caller.user, (timeout ?? 30) * 1000);
      // Each node's own blocks under a heading: the renderers draw tables and trees as the node built them.
      const blocks = results.flatMap(({ node, answer }): Block[] => [
        { kind: 'text', text: `== ${label(node)}: ${answer.exitStatus === 0 ? 'ok' : `failed (${answer.exitStatus})`}` },
        ...(answer.type === 'result' ? answer.blocks : [{ kind: 'warning' as const, text: answer.message }]),
      ]);
      const data = results.map(({ node, answer }) => ({
        node: node.address,
        hostname: node.hostname,
        exitStatus: answer.exitStatus,
        data: answer.type === 'result' ? answer.data : null,
        error: answer.type === 'error' ? { code: answer.code, message: answer.message } : null,
      }));
      return reply.blocks(blocks, data, results.some((r) => r.answer.exitStatus !== 0) ? 1 : 0);
    },
  }),
  defineCommand({
    words: ['cluster', 'check'],
    summary: 'Test, from every node, every flow the catalog expects between the nodes',
    json: json.array(json.object({ from: json.string(), to: json.string(), port: json.integer(), service: json.string(), expected: json.oneOf('open', 'blocked'), outcome: json.oneOf('ok', 'blocked', 'nothing listening', 'not responding'), pass: json.boolean(), ms: json.nullable(json.number()) })),
    async run(ctx) {
      const rows = await clusterOf(ctx).check();
      const failed = rows.some((r) => !r.pass);
      const matrix = checkMatrix(rows);
      return reply.blocks(
        [
          { kind: 'table', ...matrix },
          {
            kind: 'table',
            columns: ['from', 'to', 'port', 'service', 'expected', 'result', 'time', ''],
            rows: rows.map((r) => [r.from, r.to, String(r.port), r.service, r.expected, r.outcome, r.ms !== undefined ? `${r.ms.toFixed(1)} ms` : '', r.pass ? '' : 'FAIL']),
          },
        ],
        rows.map((r) => ({ ...r, ms: r.ms ?? null })),
        failed ? 1 : 0,
      );
    },
  }),
];

export const clusterGroup: Group = { word: 'cluster', summary: 'cluster management', commands };
