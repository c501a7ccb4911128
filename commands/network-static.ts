// `network interface ...`, `network route add|del`, `network confirm|rollback`,
// `network plan` and the `network interfaces` view: static networking, part
// of the `network` group (commands/network.ts). Each change is a confirmed
// commit held by net/static-service.ts; on an appliance it reaches
// systemd-networkd, in the embedded default it is a plan shown on screen.

import { join } from 'node:path';
import { choice, integer } from '../core/argtypes.js';
import { CONFIRM_SECONDS_RANGE, DEFAULT_CONFIRM_SECONDS } from '../core/confirm-window.js';
import { badInput, failure } from '../core/errors.js';
import { json, messageShape } from '../core/json-shape.js';
import { reply, type Block } from '../core/reply.js';
import { formatTime } from '../core/time.js';
import { defineCommand, type ArgType, type Command } from '../core/command.js';
import { type Context } from '../core/context.js';
import { checkInterfaceName, describeInterface, NETWORKD_DIR, networkdFiles, parseGateway, parsePrefixed, StaticNetworkError } from '../net/static-network.js';
import { liveInterfaces, type CommitOutcome, type StaticNetworkService } from '../net/static-service.js';
import type { InterfaceSettings, StaticNetwork } from '../store/settings.js';

function serviceOf(ctx: Context): StaticNetworkService {
  const service = ctx.services.staticNetwork;
  if (!service) throw failure('no-static-network', 'static networking is not running in this daemon');
  return service;
}

const badNetwork = (error: unknown): never => {
  if (error instanceof StaticNetworkError) throw badInput('bad-network', error.message);
  throw error;
};

/** A rule of net/static-network.ts broken by what was typed: bad input, exit 2. */
function asBadInput<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    return badNetwork(error);
  }
}

const typed = <T>(hint: string, parse: (value: string) => T): ArgType<T> => ({ hint, parse: (value) => asBadInput(() => parse(value)) });

const interfaceArg = typed('<interface>', checkInterfaceName);
const addressArg = typed('<ip/prefix>', (value) => parsePrefixed(value, '<ip/prefix>').text);
const destinationArg = typed('<prefix>', (value) => parsePrefixed(value, '<prefix>', 0).text);
const gatewayArg = typed('<ip>', (value) => parseGateway(value, '<ip>').text);
const interfaceGatewayArg = typed('<gateway-ip>', (value) => parseGateway(value, '<gateway-ip>').text);
const confirmOption = {
  name: 'confirm-within',
  type: integer('<seconds>', ...CONFIRM_SECONDS_RANGE),
  summary: `seconds until the change rolls back unless "network confirm" (default ${DEFAULT_CONFIRM_SECONDS})`,
} as const;

/** The interface must exist on this node (any interface but the loopback). */
async function existingInterface(name: string): Promise<void> {
  const live = await liveInterfaces();
  if (name === 'lo') throw badInput('loopback', 'the loopback interface is not configured here');
  if (!live.some((i) => i.name === name)) {
    throw badInput('no-such-interface', `interface ${name} does not exist on this node; it has ${live.map((i) => i.name).filter((n) => n !== 'lo').join(', ') || 'no other interface'} (see "network interfaces")`);
  }
}

const fileShape = json.object({ path: json.string(), content: json.string() });
const commitShape = json.object({
  mode: json.oneOf('apply', 'plan'),
  change: json.string(),
  files: json.array(fileShape),
  rollsBackAt: json.time(),
  warnings: json.array(json.string()),
  message: json.string(),
});

/** What a change did, the files it wrote (or would write), and when it rolls back. */
function commitReply(ctx: Context, change: string, outcome: CommitOutcome, seconds: number) {
  const service = serviceOf(ctx);
  const at = formatTime(outcome.rollsBackAt).slice(11);
  const files = outcome.files.map((f) => ({ path: join('/', NETWORKD_DIR, f.name), content: f.content }));
  const message =
    outcome.mode === 'apply'
      ? `applied: ${change}; written to ${service.directory} and reloaded by systemd-networkd; rolls back at ${at} (in ${seconds} s) unless you run "network confirm"`
      : `plan mode (embedded default): this machine's networking is not changed; an appliance would write the files below. The plan rolls back at ${at} (in ${seconds} s) unless you run "network confirm"`;
  const blocks: Block[] = [
    { kind: 'text', text: message },
    ...(outcome.mode === 'plan' ? files.map((f): Block => ({ kind: 'text', text: `--- ${f.path}\n${f.content.trimEnd()}` })) : []),
    ...outcome.warnings.map((text): Block => ({ kind: 'warning', text: `WARNING: ${text}` })),
  ];
  return reply.blocks(blocks, { mode: outcome.mode, change, files, rollsBackAt: outcome.rollsBackAt.toISOString(), warnings: outcome.warnings, message });
}

async function commit(ctx: Context, change: string, next: StaticNetwork, seconds: number | undefined) {
  const within = seconds ?? DEFAULT_CONFIRM_SECONDS;
  const outcome = await serviceOf(ctx).commit(next, change, ctx.caller.sshConnection, within).catch(badNetwork);
  return commitReply(ctx, change, outcome, within);
}

const withInterface = (config: StaticNetwork, entry: InterfaceSettings): StaticNetwork => {
  const others = config.interfaces.filter((i) => i.name !== entry.name);
  return { ...config, interfaces: [...others, entry].sort((a, b) => a.name.localeCompare(b.name)) };
};

const familyOf = (cidr: string) => (cidr.includes(':') ? 6 : 4);

export const staticCommands: Command[] = [
  defineCommand({
    words: ['network', 'interfaces'],
    summary: "Show the node's interfaces: live addresses, the static configuration, and a change awaiting confirmation",
    json: json.object({
      mode: json.oneOf('apply', 'plan'),
      interfaces: json.array(json.object({ interface: json.string(), mac: json.string(), state: json.string(), live: json.array(json.string()), configured: json.string() })),
      pendingConfirmation: json.nullable(json.object({ description: json.string(), rollsBackAt: json.time() })),
    }),
    async run(ctx) {
      const service = serviceOf(ctx);
      const configured = service.current().interfaces;
      const live = await liveInterfaces();
      const names = [...new Set([...live.map((i) => i.name), ...configured.map((i) => i.name)])];
      const interfaces = names.map((name) => {
        const now = live.find((i) => i.name === name);
        const entry = configured.find((i) => i.name === name);
        return {
          interface: name,
          mac: now?.mac ?? '',
          state: now?.state ?? 'absent',
          live: now?.addresses.map((a) => `${a.cidr}${a.dynamic ? ' (dhcp)' : ''}`) ?? [],
          configured: name === 'lo' ? 'loopback' : describeInterface(entry),
        };
      });
      const pending = service.pending ? { ...service.pending } : null;
      const blocks: Block[] = [
        { kind: 'table', columns: ['interface', 'state', 'live', 'configured', 'mac'], rows: interfaces.map((i) => [i.interface, i.state, i.live.join(' ') || '-', i.configured, i.mac]) },
        { kind: 'text', text: service.mode === 'apply' ? 'configured: kept in the config store and applied by systemd-networkd' : 'configured: kept in the config store (embedded default: plan only, this machine is not changed)' },
        ...(pending ? [{ kind: 'warning' as const, text: `pending: "${pending.description}" rolls back at ${formatTime(pending.rollsBackAt)} unless "network confirm"` }] : []),
      ];
      return reply.blocks(blocks, { mode: service.mode, interfaces, pendingConfirmation: pending });
    },
  }),
  defineCommand({
    words: ['network', 'interface'],
    summary: 'Give an interface a static address (with an optional gateway), or DHCP: a confirmed commit',
    json: commitShape,
    args: [
      { name: 'name', type: interfaceArg },
      { name: 'mode', type: choice('<static|dhcp>', ['static', 'dhcp']) },
      { name: 'address', type: addressArg, optional: true },
      { name: 'gatewayWord', type: choice('gateway', ['gateway']), optional: true },
      { name: 'gateway', type: interfaceGatewayArg, optional: true },
    ],
    options: [confirmOption],
    async run(ctx, args) {
      if (args.mode === 'dhcp' && args.address) throw badInput('dhcp-address', `"network interface ${args.name} dhcp" takes no address`);
      if (args.mode === 'static' && !args.address) throw badInput('no-address', `give the address: network interface ${args.name} static <ip/prefix> [gateway <ip>]`);
      if (args.gatewayWord && !args.gateway) throw badInput('no-gateway', 'gateway: give its address');
      await existingInterface(args.name);
      const config = serviceOf(ctx).current();
      const before = config.interfaces.find((i) => i.name === args.name);
      let entry: InterfaceSettings;
      if (args.mode === 'dhcp') entry = { name: args.name, dhcp: true, addresses: [] };
      else {
        const cidr = args.address!;
        // One address per family: the other family's stays.
        const kept = (before?.addresses ?? []).filter((a) => familyOf(a.cidr) !== familyOf(cidr));
        entry = { name: args.name, dhcp: false, addresses: [...kept, { cidr, ...(args.gateway ? { gateway: args.gateway } : {}) }].sort((a, b) => familyOf(a.cidr) - familyOf(b.cidr)) };
      }
      if (JSON.stringify(before) === JSON.stringify(entry)) throw badInput('unchanged', `${args.name} is already ${describeInterface(entry)}`);
      const change = args.mode === 'dhcp' ? `${args.name} dhcp` : `${args.name} static ${args.address}${args.gateway ? ` gateway ${args.gateway}` : ''}`;
      return commit(ctx, change, withInterface(config, entry), args['confirm-within']);
    },
  }),
  defineCommand({
    words: ['network', 'route', 'add'],
    summary: 'Route a network through a gateway on a configured network: a confirmed commit',
    json: commitShape,
    args: [
      { name: 'destination', type: destinationArg },
      { name: 'viaWord', type: choice('via', ['via']) },
      { name: 'gateway', type: gatewayArg },
    ],
    options: [confirmOption],
    async run(ctx, args) {
      const config = serviceOf(ctx).current();
      const existing = config.routes.find((r) => r.destination === args.destination);
      if (existing) throw badInput('duplicate', `${args.destination} is already routed via ${existing.gateway}; remove it first ("network route del ${args.destination}")`);
      const next = { ...config, routes: [...config.routes, { destination: args.destination, gateway: args.gateway }] };
      return commit(ctx, `route add ${args.destination} via ${args.gateway}`, next, args['confirm-within']);
    },
  }),
  defineCommand({
    words: ['network', 'route', 'del'],
    summary: 'Remove a static route: a confirmed commit',
    json: commitShape,
    args: [
      { name: 'destination', type: destinationArg },
      { name: 'viaWord', type: choice('via', ['via']), optional: true },
      { name: 'gateway', type: gatewayArg, optional: true },
    ],
    options: [confirmOption],
    async run(ctx, args) {
      if (args.viaWord && !args.gateway) throw badInput('no-gateway', 'via: give the gateway address');
      const config = serviceOf(ctx).current();
      const found = config.routes.find((r) => r.destination === args.destination && (!args.gateway || r.gateway === args.gateway));
      if (!found) throw badInput('no-such-route', `no static route to ${args.destination}${args.gateway ? ` via ${args.gateway}` : ''}; see "network plan"`);
      const next = { ...config, routes: config.routes.filter((r) => r !== found) };
      return commit(ctx, `route del ${found.destination} via ${found.gateway}`, next, args['confirm-within']);
    },
  }),
  defineCommand({
    words: ['network', 'plan'],
    summary: 'Show the systemd-networkd files the static configuration makes, and whether they are applied here',
    json: json.object({ mode: json.oneOf('apply', 'plan'), files: json.array(fileShape), routes: json.array(json.object({ destination: json.string(), gateway: json.string() })) }),
    run(ctx) {
      const service = serviceOf(ctx);
      const config = service.current();
      const files = asBadInput(() => networkdFiles(config)).map((f) => ({ path: join('/', NETWORKD_DIR, f.name), content: f.content }));
      const note = service.mode === 'apply' ? `applied: these files are in ${service.directory}` : 'plan mode (embedded default): an appliance would write these files; this machine is not changed';
      const blocks: Block[] = [
        { kind: 'text', text: files.length ? note : 'no static configuration: every interface keeps what the image gives it (DHCP, first-boot answers)' },
        ...files.map((f): Block => ({ kind: 'text', text: `--- ${f.path}\n${f.content.trimEnd()}` })),
      ];
      return reply.blocks(blocks, { mode: service.mode, files, routes: config.routes.map((r) => ({ ...r })) });
    },
  }),
  defineCommand({
    words: ['network', 'confirm'],
    summary: 'Keep the static networking change awaiting confirmation',
    json: messageShape,
    run(ctx) {
      return reply.text(`confirmed: ${serviceOf(ctx).confirm()}`);
    },
  }),
  defineCommand({
    words: ['network', 'rollback'],
    summary: 'Undo the static networking change awaiting confirmation now',
    json: messageShape,
    async run(ctx) {
      return reply.text(`rolled back: ${await serviceOf(ctx).rollback()}`);
    },
  }),
];
