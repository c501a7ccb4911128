// `cluster ...`: join nodes, look at them, provision them, run commands on
// them, check the flows between them, and put them all in maintenance mode.

import type { CheckRow, NodeRun } from '../cluster/service.js';
import type { PeerVersions } from '../cluster/protocol-version.js';
import type { InventoryNode } from '../store/inventory.js';
import { choice, commandLine, integer, ipAddress } from '../core/argtypes.js';
import { ROLE_NAMES } from '../catalog/roles.js';
import { json } from '../core/json-shape.js';
import { formatTime } from '../core/time.js';
import { badInput } from '../core/errors.js';
import { reply, type Block } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';

import { clusterOf, clusterUpgradeCommands } from './cluster-upgrade.js';

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
  /** The product version and agent protocol version the node last named (null: it never answered this node). */
  version: json.nullable(json.string()),
  protocol: json.nullable(json.integer()),
};
const memberJson = (n: InventoryNode, versions: PeerVersions | undefined) => ({
  address: n.address,
  hostname: n.hostname,
  roles: n.roles,
  dataCentre: n.dataCentre,
  primary: n.primary,
  fingerprint: n.fingerprint ?? null,
  lastSeen: n.lastSeen ?? null,
  version: versions?.product ?? null,
  protocol: versions?.protocol ?? null,
});
const versionCells = (versions: PeerVersions | undefined) => [versions?.product ?? '', versions ? String(versions.protocol) : ''];
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
      const service = clusterOf(ctx);
      const node = await service.add(ip, code, ctx.progress);
      return reply.blocks([{ kind: 'text', text: `added ${label(node)} (${node.roles.join(',')}, data centre ${node.dataCentre}); run "cluster provision" when all nodes are added` }], memberJson(node, service.versionsOf(node.address)));
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
    summary: 'List the member nodes, with the product and agent protocol versions each last named',
    json: json.array(json.object(memberShape)),
    run(ctx) {
      const service = clusterOf(ctx);
      const nodes = service.inventory();
      return reply.table(
        ['hostname', 'address', 'roles', 'data centre', 'primary', 'last seen', 'version', 'protocol'],
        nodes.map((n) => [n.hostname, n.address, n.roles.join(','), n.dataCentre, n.primary ? 'yes' : '', n.lastSeen ? formatTime(n.lastSeen) : '', ...versionCells(service.versionsOf(n.address))]),
        nodes.map((n) => memberJson(n, service.versionsOf(n.address))),
      );
    },
  }),
  defineCommand({
    words: ['cluster', 'status'],
    summary: 'Nodes by data centre and role, and the versions each speaks; unreachable ones shown as not responding',
    json: json.array(json.object({ ...memberShape, responding: json.boolean(), problem: json.nullable(json.string()) })),
    async run(ctx) {
      const nodes = await clusterOf(ctx).status();
      const state = (n: (typeof nodes)[number]) => (n.responding ? '' : ` (${n.problem ?? 'not responding'})`);
      const lines: string[] = [];
      const centres = [...new Set(nodes.filter((n) => n.responding).map((n) => n.dataCentre)), ...(nodes.some((n) => !n.responding) ? ['unknown'] : [])];
      for (const centre of centres) {
        lines.push(`Data Centre: ${centre}`);
        const inCentre = nodes.filter((n) => (n.responding ? n.dataCentre === centre : centre === 'unknown'));
        for (const role of ['application', 'webproxy', 'database'] as const) {
          const withRole = inCentre.filter((n) => n.roles.includes(role) || (role !== 'webproxy' && n.roles.includes('unified')));
          withRole.forEach((n, i) => lines.push(`${i === 0 ? `     ${role} : ` : CONTINUATION}${label(n)}${state(n)}`));
        }
      }
      const versions: Block[] = nodes.length
        ? [{ kind: 'table', columns: ['node', 'version', 'protocol', 'state'], rows: nodes.map((n) => [label(n), ...versionCells(n.versions), n.responding ? 'ok' : (n.problem ?? 'not responding')]) }]
        : [];
      return reply.blocks([{ kind: 'text', text: lines.join('\n') || 'this node is in no cluster' }, ...versions], nodes.map((n) => ({ ...memberJson(n, n.versions), responding: n.responding, problem: n.problem ?? null })));
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

type MaintenanceAction = 'start' | 'stop' | 'status';
type NodeMaintenance = {
  node: string;
  hostname: string;
  maintenanceMode: boolean | null;
  error: { code: string; message: string } | null;
};

/** What a node's `system maintenance-mode` answered: on or off, or why there is no usable answer (start and stop must have left it so). */
function maintenanceOf(action: MaintenanceAction, { node, answer }: NodeRun): NodeMaintenance {
  const data = answer.type === 'result' ? (answer.data as { maintenanceMode?: unknown } | null) : null;
  const on = data?.maintenanceMode;
  const wanted = action === 'status' ? typeof on === 'boolean' : on === (action === 'start');
  if (wanted) return { node: node.address, hostname: node.hostname, maintenanceMode: on as boolean, error: null };
  const error = answer.type === 'error' ? { code: answer.code, message: answer.message } : { code: 'bad-answer', message: `${node.address}: its answer does not say maintenance mode is ${action === 'start' ? 'on' : action === 'stop' ? 'off' : 'on or off'}` };
  return { node: node.address, hostname: node.hostname, maintenanceMode: null, error };
}

const MAINTENANCE = {
  start: { summary: 'Put every node of the cluster in maintenance mode (run on the primary)', done: 'in maintenance mode' },
  stop: { summary: 'Take every node of the cluster out of maintenance mode (run on the primary)', done: 'out of maintenance mode' },
  status: { summary: 'Show, for every node of the cluster, whether it is in maintenance mode', done: '' },
} as const satisfies Record<MaintenanceAction, unknown>;

/**
 * `cluster maintenance-mode start|stop|status`: one confirmation here, then
 * each node's own `system maintenance-mode` through the agent. A node that
 * cannot be reached is named and the others still change; the reply says
 * which changed and which did not, and the exit status is 1 unless all did.
 */
const clusterMaintenance = (action: MaintenanceAction) =>
  defineCommand({
    words: ['cluster', 'maintenance-mode', action],
    summary: MAINTENANCE[action].summary,
    json: json.array(json.object({ node: json.string(), hostname: json.string(), maintenanceMode: json.nullable(json.boolean()), error: json.nullable(json.object({ code: json.string(), message: json.string() })) })),
    confirm:
      action === 'status'
        ? undefined
        : `${action === 'start' ? 'Start' : 'Stop'} maintenance mode on every node of the cluster? Scheduled jobs are ${action === 'start' ? 'suspended' : 'resumed'} on each.`,
    async run(ctx) {
      const results = (await clusterOf(ctx).maintenance(action, ctx.caller.user, 30_000)).map((run) => maintenanceOf(action, run));
      const name = (r: NodeMaintenance) => `${r.hostname}[${r.node}]`;
      // The node's own message begins with its address, which `name` already gives.
      const why = (r: NodeMaintenance) => r.error!.message.replace(/^[^:]*: /, '');
      const failed = results.filter((r) => r.error);
      const changed = results.filter((r) => !r.error).map(name);
      const table: Block = { kind: 'table', columns: ['node', 'maintenance mode'], rows: results.map((r) => [name(r), r.error ? `unknown: ${why(r)}` : r.maintenanceMode ? 'on' : 'off']) };
      const summary: Block[] =
        action === 'status'
          ? failed.map((r) => ({ kind: 'warning', text: `${name(r)}: ${why(r)}` }))
          : failed.length === 0
            ? [{ kind: 'text', text: `every node is ${MAINTENANCE[action].done}: ${changed.join(', ')}` }]
            : [
                {
                  kind: 'warning',
                  text: `NOT changed: ${failed.map((r) => `${name(r)}: ${why(r)}`).join('; ')}. Changed: ${changed.join(', ') || 'none'}. Run "cluster maintenance-mode ${action}" again when ${failed.length === 1 ? 'it answers' : 'they answer'}.`,
                },
              ];
      return reply.blocks([table, ...summary], results, failed.length ? 1 : 0);
    },
  });

commands.push(clusterMaintenance('start'), clusterMaintenance('stop'), clusterMaintenance('status'), ...clusterUpgradeCommands);

export const clusterGroup: Group = { word: 'cluster', summary: 'cluster management', commands };
