// `firewall ...`: look at the dynamic firewall, ask it why, and change what
// an administrator may change (management sources, limits) as confirmed
// commits that roll back unless confirmed.

import type { CommitResult, FirewallService } from '../firewall/service.js';
import { formatTime } from '../core/time.js';
import { choice, integer } from '../core/argtypes.js';
import { json, messageShape } from '../core/json-shape.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Reply } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';
import { FirewallInputError, LIMIT_RANGES, parseNetwork, type Verdict } from '../firewall/compiler.js';
import { EGRESS_MODES, type Limits } from '../store/settings.js';
import { isHostname } from '../core/argtypes.js';
import { isIP } from 'node:net';

function firewallOf(ctx: Context): FirewallService {
  const firewall = ctx.services.firewall;
  if (!firewall) throw failure('no-firewall', 'the firewall subsystem is not running in this daemon');
  return firewall;
}

const network = (hint: string): ArgType<string> => ({
  hint,
  parse(value) {
    try {
      return parseNetwork(value).text;
    } catch (error) {
      if (error instanceof FirewallInputError) throw badInput('bad-address', `${hint}: ${error.message}`);
      throw error;
    }
  },
});

const portWithProtocol: ArgType<{ port: number; protocol: 'tcp' | 'udp' }> = {
  hint: '<port>[/tcp|udp]',
  parse(value) {
    const match = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(value);
    const port = Number(match?.[1]);
    if (!match || port < 1 || port > 65535) throw badInput('bad-port', `<port>: "${value}" is not a port 1-65535, optionally with /tcp or /udp`);
    return { port, protocol: (match[2] ?? 'tcp') as 'tcp' | 'udp' };
  },
};

const notAppliedWarning = (fw: FirewallService): Reply['blocks'] => {
  const status = fw.status();
  return status.applied ? [] : [{ kind: 'warning', text: `NOT APPLIED: ${status.reason ?? 'unknown reason'}` }];
};

/** What a confirmed commit did and what happens next, with the time: said on the screen, in both modes. */
function commitMessage(result: CommitResult, seconds: number): string {
  if (!result.rollsBackAt) return 'saved in the plan, not applied: in plan mode no rule reaches this machine\'s firewall, so nothing needs confirming and nothing rolls back';
  const at = formatTime(result.rollsBackAt).slice(11);
  return `applied; rolls back at ${at} (in ${seconds} s) unless you run "firewall confirm"`;
}

const commitData = (result: CommitResult, seconds: number) => ({
  applied: result.applied,
  rollsBackInSeconds: result.rollsBackAt ? seconds : null,
  rollsBackAt: result.rollsBackAt?.toISOString() ?? null,
  message: commitMessage(result, seconds),
});
const commitShape = { applied: json.boolean(), rollsBackInSeconds: json.nullable(json.integer()), rollsBackAt: json.nullable(json.time()), message: json.string() };

/** One source address for `firewall explain` (a network is refused here, as bad input). */
const address: ArgType<string> = {
  hint: '<source-address>',
  parse(value) {
    const text = network('<source-address>').parse(value);
    if (text.includes('/')) throw badInput('bad-address', `<source-address>: "${value}" is a network; explain needs one address, e.g. ${text.split('/')[0]}`);
    return text;
  },
};

/** A destination for `firewall explain out`: a host name or an address, as a connection would name it. */
const destinationHost: ArgType<string> = {
  hint: '<host>',
  parse(value) {
    const host = value.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host)) return parseNetwork(host).text;
    if (host.length <= 253 && isHostname(host)) return host.toLowerCase().replace(/\.$/, '');
    throw badInput('bad-host', `<host>: "${value.slice(0, 80)}" is not a host name or an IPv4/IPv6 address`);
  },
};

const LIMIT_NAMES = Object.keys(LIMIT_RANGES) as (keyof Limits)[];

const commands: Command[] = [
  defineCommand({
    words: ['firewall', 'status'],
    summary: 'Show whether the ruleset is applied, its size, the last change and any change awaiting confirmation',
    json: json.object({ mode: json.oneOf('plan', 'apply'), applied: json.boolean(), reason: json.nullable(json.string()), rules: json.integer(), lastChange: json.nullable(json.time()), pendingConfirmation: json.nullable(json.object({ description: json.string(), rollsBackAt: json.time() })) }),
    run(ctx) {
      const s = firewallOf(ctx).status();
      return reply.tree({
        mode: s.mode,
        applied: s.applied,
        ...(s.applied ? {} : { reason: s.reason ?? null }),
        rules: s.rules,
        'last change': s.lastChange ? formatTime(s.lastChange) : null,
        'pending confirmation': s.pending ? `${s.pending.description} (rolls back at ${formatTime(s.pending.rollsBackAt)})` : 'none',
      }, { mode: s.mode, applied: s.applied, reason: s.applied ? null : (s.reason ?? null), rules: s.rules, lastChange: s.lastChange ?? null, pendingConfirmation: s.pending ?? null });
    },
  }),
  defineCommand({
    words: ['firewall', 'show'],
    summary: 'Show the nftables ruleset of this node',
    json: json.object({ applied: json.boolean(), ruleset: json.string() }),
    run(ctx) {
      const fw = firewallOf(ctx);
      return reply.blocks([...notAppliedWarning(fw), { kind: 'text', text: fw.ruleset().trimEnd() }], { applied: fw.status().applied, ruleset: fw.ruleset() });
    },
  }),
  defineCommand({
    words: ['firewall', 'rules'],
    summary: 'List every port of this node: service, scope, open or closed, and why',
    json: json.array(json.object({ port: json.string(), protocol: json.oneOf('tcp', 'udp'), service: json.string(), from: json.string(), state: json.oneOf('open', 'closed'), why: json.string() })),
    run(ctx) {
      const policy = firewallOf(ctx).policy();
      const scopeText = { public: 'anyone', cluster: 'cluster peers', management: policy.management.length ? 'management sources' : 'anyone (management)' };
      const rows = [
        ...policy.open.map((o) => [String(o.port.port), o.port.protocol, o.service.name, scopeText[o.scope], 'open', o.service.alwaysOpen ? 'always open' : 'service running']),
        ...policy.closed.map((c) => [String(c.port.port), c.port.protocol, c.service.name, scopeText[c.service.scope], 'closed', c.reason]),
      ].sort((a, b) => Number(a[0]) - Number(b[0]));
      return reply.table(['port', 'protocol', 'service', 'from', 'state', 'why'], rows);
    },
  }),
  defineCommand({
    words: ['firewall', 'explain'],
    summary: 'Say whether a connection from an address to a port is allowed or dropped, and which entry decides',
    json: json.object({ allowed: json.boolean(), reason: json.string(), service: json.nullable(json.string()), source: json.string(), port: json.integer(), protocol: json.oneOf('tcp', 'udp') }),
    args: [
      { name: 'source', type: address },
      { name: 'port', type: portWithProtocol },
    ],
    run(ctx, args) {
      const { port, protocol } = args.port;
      let verdict: Verdict;
      try {
        verdict = firewallOf(ctx).explain(args.source, port, protocol);
      } catch (error) {
        if (error instanceof FirewallInputError) throw badInput('bad-address', error.message);
        throw error;
      }
      return reply.blocks([{ kind: 'text', text: `${args.source} -> ${port}/${protocol}: ${verdict.reason}` }], { allowed: verdict.allowed, reason: verdict.reason, service: verdict.service ?? null, source: args.source, port, protocol });
    },
  }),
  defineCommand({
    words: ['firewall', 'explain', 'out'],
    summary: 'Say whether this node may open a connection to a host and port, and which configured destination allows it',
    json: json.object({ allowed: json.boolean(), reason: json.string(), host: json.string(), port: json.integer(), protocol: json.oneOf('tcp', 'udp') }),
    args: [
      { name: 'host', type: destinationHost },
      { name: 'port', type: portWithProtocol },
    ],
    run(ctx, args) {
      const { port, protocol } = args.port;
      const verdict = firewallOf(ctx).explainOut(args.host, port, protocol);
      return reply.blocks([{ kind: 'text', text: `this node -> ${args.host} ${port}/${protocol}: ${verdict.reason}` }], { allowed: verdict.allowed, reason: verdict.reason, host: args.host, port, protocol });
    },
  }),
  defineCommand({
    words: ['firewall', 'egress'],
    summary: 'Show the egress policy (open or strict) and the destinations this node may reach',
    json: json.object({ mode: json.oneOf(...EGRESS_MODES), destinations: json.array(json.object({ host: json.string(), port: json.integer(), protocol: json.oneOf('tcp', 'udp'), addresses: json.array(json.string()), why: json.string() })) }),
    run(ctx) {
      const fw = firewallOf(ctx);
      const { mode, destinations: configured } = fw.egressPolicy();
      // In open mode the list is what strict would allow: read it before turning strict on.
      const resolved = new Map(fw.policy().egress.destinations.map((r) => [r.host, r.addresses]));
      const destinations = configured.map((d) => ({ ...d, addresses: resolved.get(d.host) ?? [] }));
      const note = mode === 'open' ? 'open: this node may reach anything; with "firewall egress strict" only these destinations (and loopback, replies) go out' : 'strict: only these destinations (and loopback, replies) go out; everything else is dropped';
      const rows = destinations.map((d) => [d.host, String(d.port), d.protocol, d.addresses.join(' ') || (mode === 'strict' ? '(not resolved)' : '-'), d.why]);
      return reply.blocks([{ kind: 'text', text: note }, { kind: 'table', columns: ['host', 'port', 'protocol', 'addresses', 'why'], rows }], { mode, destinations: destinations.map(({ host, port, protocol, addresses, why }) => ({ host, port, protocol, addresses, why })) });
    },
  }),
  ...EGRESS_MODES.map((mode) =>
    defineCommand({
      words: ['firewall', 'egress', mode],
      summary: mode === 'strict' ? 'Let this node open only the connections its configuration needs (see "network requirements")' : 'Let this node open any outbound connection (the default)',
      json: json.object({ mode: json.oneOf(...EGRESS_MODES), applied: json.boolean(), message: json.string() }),
      async run(ctx) {
        const fw = firewallOf(ctx);
        const result = await fw.setEgress(mode);
        const message = result.applied ? `egress ${mode}: applied` : `egress ${mode}: saved, not applied (${result.reason ?? 'unknown reason'})`;
        return reply.blocks([{ kind: 'text', text: message }], { mode, applied: result.applied, message });
      },
    }),
  ),
  defineCommand({
    words: ['firewall', 'drift'],
    summary: 'Compare listening sockets with the ruleset: listening but not allowed, allowed but nothing listening',
    json: json.object({ listeningButNotAllowed: json.array(json.string()), allowedButNothingListening: json.array(json.string()) }),
    run(ctx) {
      const fw = firewallOf(ctx);
      const policy = fw.policy();
      const listening = fw.listeningNow();
      const allowed = new Set(policy.open.map((o) => `${o.port.port}/${o.port.protocol}`));
      const listeningNotAllowed = [...listening].filter((p) => !allowed.has(p)).sort((a, b) => parseInt(a) - parseInt(b));
      const allowedNotListening = policy.open.filter((o) => !listening.has(`${o.port.port}/${o.port.protocol}`)).map((o) => `${o.port.port}/${o.port.protocol} (${o.service.name})`);
      return reply.tree({ 'listening but not allowed': listeningNotAllowed, 'allowed but nothing listening': allowedNotListening });
    },
  }),
  defineCommand({
    words: ['firewall', 'limits'],
    summary: 'Show the per-source rate limits of new connections',
    json: json.object({ publicPerSecond: json.integer(), publicBurst: json.integer(), managementPerMinute: json.integer(), managementBurst: json.integer(), pingPerSecond: json.integer() }),
    run(ctx) {
      return reply.tree({ ...firewallOf(ctx).managed().limits });
    },
  }),
  defineCommand({
    words: ['firewall', 'limits', 'set'],
    summary: 'Change a rate limit (a confirmed commit: it rolls back unless confirmed)',
    json: json.object({ limits: json.map(json.integer()), ...commitShape }),
    args: [
      { name: 'limit', type: choice('<limit>', LIMIT_NAMES) },
      { name: 'value', type: integer('<value>', 1, 1_000_000) },
      { name: 'seconds', type: integer('<confirm-within-seconds>', 2, 3600), optional: true },
    ],
    async run(ctx, args) {
      const fw = firewallOf(ctx);
      const name = args.limit;
      const seconds = args.seconds ?? 120;
      const limits = { ...fw.managed().limits, [name]: args.value };
      const result = await fw.commitConfirmed({ limits }, `limit ${name} = ${args.value}`, ctx.caller.sshConnection, seconds);
      const data = commitData(result, seconds);
      return reply.blocks([{ kind: 'text', text: data.message }], { limits, ...data });
    },
  }),
  ...(['allow', 'deny'] as const).map(
    (verb) => defineCommand({
      words: ['firewall', verb],
      summary:
        verb === 'allow'
          ? 'Add a management source (address or network) that may reach SSH and SNMP; a confirmed commit'
          : 'Remove a management source; a confirmed commit',
      args: [
        { name: 'source', type: network('<management-source>') },
        { name: 'seconds', type: integer('<confirm-within-seconds>', 2, 3600), optional: true },
      ],
      json: json.object({ management: json.array(json.string()), ...commitShape }),
      async run(ctx, args) {
        const fw = firewallOf(ctx);
        const source = args.source;
        const current = fw.managed().management;
        if (verb === 'allow' && current.includes(source)) throw badInput('already-allowed', `${source} is already a management source`);
        if (verb === 'deny' && !current.includes(source)) throw badInput('not-a-source', `${source} is not a management source; see "firewall rules"`);
        const management = verb === 'allow' ? [...current, source] : current.filter((m) => m !== source);
        const seconds = args.seconds ?? 120;
        const result = await fw.commitConfirmed({ management }, `${verb} ${source}`, ctx.caller.sshConnection, seconds);
        const data = commitData(result, seconds);
        return reply.blocks([{ kind: 'text', text: data.message }], { management, ...data });
      },
    }),
  ),
  defineCommand({
    words: ['firewall', 'confirm'],
    summary: 'Keep the change awaiting confirmation',
    json: messageShape,
    run(ctx) {
      return reply.text(`confirmed: ${firewallOf(ctx).confirm()}`);
    },
  }),
  defineCommand({
    words: ['firewall', 'rollback'],
    summary: 'Undo the change awaiting confirmation now',
    json: messageShape,
    async run(ctx) {
      return reply.text(`rolled back: ${await firewallOf(ctx).rollback()}`);
    },
  }),
];

export const firewallGroup: Group = { word: 'firewall', summary: 'dynamic firewall', commands };
