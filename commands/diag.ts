// `diag ...`: what support staff run to find out why something does not
// connect. Every probe is bounded in time and answers in words.

import { X509Certificate } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { listeningPorts } from '../firewall/listening.js';
import { checkSubnets } from '../net/subnets.js';
import { renderBlock } from '../core/text.js';
import { hostname as osHostname } from 'node:os';
import { queryTcp, queryUdp, systemResolvers } from '../net/dns.js';
import { backupLocations, notifyTargets } from '../net/locations.js';
import { probeFolder, probeSftp, probeTcp, probeTls, resolveName, type ProbeResult } from '../net/probe.js';
import { describeUri, effectivePort, redactSecrets, redactUri, uriArg, type NetworkUri } from '../net/uri.js';
import { egressOf, proxyFor } from '../net/connector.js';
import { CONCURRENCY, connectivityFlows, FLOW_DEADLINE_MS, PROBE_TIMEOUT_MS, probeFlows, TOTAL_BOUND_MS, VERDICTS } from '../net/connectivity.js';
import { sendInform } from '../notify/trap.js';
import { nodeOrDefault } from '../store/node.js';
import { defaultPort } from '../catalog/derive.js';
import { parseRelay } from '../notify/mail.js';
import { healthCommand } from './health.js';
import { diagHealth } from './health-monitoring.js';
import { choice, host, integer } from '../core/argtypes.js';
import { json, messageShape } from '../core/json-shape.js';
import { runProcess } from '../os/processes.js';
import { ipJson } from '../os/host.js';
import { failure } from '../core/errors.js';
import { reply, type Block, type Json } from '../core/reply.js';
import { defineCommand, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';


/** Tests one URI for real: resolve, connect, and what its scheme allows (TLS, SFTP login). */
async function testUri(ctx: Context, uri: NetworkUri): Promise<{ step: string; result: ProbeResult }[]> {
  const steps: { step: string; result: ProbeResult }[] = [];
  if (uri.scheme === 'file') return [{ step: `folder ${uri.path}`, result: await probeFolder(uri.path ?? '/') }];
  // Mail goes to the relay (notify emailrelay), or straight to the address's host without one.
  const relayText = ctx.store.settings.get('notify.emailrelay');
  const relay = uri.scheme !== 'mailto' ? undefined : relayText ? parseRelay(relayText) : { host: uri.host!, port: defaultPort('smtp') };
  const target = relay ? relay.host : uri.host!;
  const port = relay ? relay.port : effectivePort(uri)!;
  // Every TCP connection goes the node's one way out; through a proxy, the proxy resolves the name.
  const egress = egressOf(ctx.store);
  const proxy = uri.scheme === 'snmp' ? undefined : proxyFor(egress, target);
  if (!proxy) {
    const resolved = await resolveName(target);
    steps.push({ step: `resolve ${target}`, result: resolved });
    if (resolved.outcome !== 'ok') return steps;
  }
  if (uri.scheme === 'snmp') {
    steps.push({ step: 'send', result: { outcome: 'ok', detail: `SNMP informs go over UDP ${port}; only the name is checked here: "diag connectivity" sends a test inform the receiver must acknowledge, and "notify test" a test notification` } });
    return steps;
  }
  const via = proxy ? ` through the proxy ${redactUri(proxy)}` : '';
  if (uri.scheme === 'https') {
    steps.push({ step: `TLS to ${target}:${port}${via}`, result: await probeTls(target, port, { egress, ownFingerprint: ownCertificateFingerprint(ctx) }) });
  } else if (uri.scheme === 'sftp' || uri.scheme === 'scp') {
    steps.push({ step: `SFTP login to ${target}:${port}${via}`, result: await probeSftp(uri, { egress }) });
  } else {
    steps.push({ step: `connect to ${target}:${port}${via}${uri.scheme === 'mailto' ? ' (mail relay)' : ''}`, result: await probeTcp(target, port, { egress }) });
  }
  return steps;
}

/** The node's own web certificate, to recognise it when a test reaches this node. */
function ownCertificateFingerprint(ctx: Context): string | undefined {
  try {
    return new X509Certificate(readFileSync(ctx.paths.webCertificate)).fingerprint256;
  } catch {
    return undefined;
  }
}

function stepsReply(steps: { step: string; result: ProbeResult }[], extra: { [key: string]: Json } = {}) {
  const failed = steps.some((s) => s.result.outcome !== 'ok');
  const lines = steps.map((s) => `${s.step}: ${s.result.outcome}${s.result.ms !== undefined ? ` (${s.result.ms.toFixed(0)} ms)` : ''} - ${s.result.detail}`);
  const data = steps.map((s) => ({ step: s.step, outcome: s.result.outcome, detail: s.result.detail, ms: s.result.ms ?? null, addresses: (s.result as { addresses?: string[] }).addresses ?? null }));
  return reply.blocks([{ kind: 'text', text: lines.join('\n') }], { ...extra, steps: data } as Json, failed ? 1 : 0);
}

const stepsShape = json.array(
  json.object({ step: json.string(), outcome: json.string(), detail: json.string(), ms: json.nullable(json.number()), addresses: json.nullable(json.array(json.string())) }),
);
const connectivityShape = json.object({
  bound: json.object({ probeMs: json.integer(), flowDeadlineMs: json.integer(), concurrency: json.integer(), totalMs: json.integer() }),
  flows: json.array(
    json.object({ flow: json.string(), destination: json.string(), protocol: json.oneOf('tcp', 'udp', 'file'), via: json.string(), verdict: json.oneOf(...VERDICTS), detail: json.string(), ms: json.integer() }),
  ),
});
const uriShape = json.object({
  scheme: json.string(),
  snmpVersion: json.nullable(json.oneOf('v2c', 'v3')),
  user: json.nullable(json.string()),
  /** Secrets are never shown; only whether the URI holds one. */
  hasPassword: json.boolean(),
  hasCommunity: json.boolean(),
  auth: json.nullable(json.string()),
  host: json.nullable(json.string()),
  port: json.nullable(json.integer()),
  path: json.nullable(json.string()),
  uri: json.string(),
});
const uriJson = (uri: NetworkUri) => ({
  scheme: uri.scheme,
  snmpVersion: uri.snmpVersion ?? null,
  user: uri.user ?? null,
  hasPassword: uri.password !== undefined,
  hasCommunity: uri.community !== undefined,
  auth: uri.auth ?? null,
  host: uri.host ?? null,
  port: effectivePort(uri) ?? null,
  path: uri.path ?? null,
  uri: redactUri(uri),
});

const commands: Command[] = [
  diagHealth,
  defineCommand({
    words: ['diag', 'uri'],
    summary: 'Show how a URI parses (secrets hidden); with "test", resolve, connect and log in as its scheme allows',
    json: json.union(uriShape, json.object({ uri: uriShape, steps: stepsShape })),
    args: [
      { name: 'uri', type: uriArg() },
      { name: 'test', type: choice('test', ['test']), optional: true },
    ],
    async run(ctx, args) {
      const uri = args.uri;
      const parsed = describeUri(uri);
      if (!args.test) return reply.tree(parsed, uriJson(uri));
      const steps = await testUri(ctx, uri);
      const answer = stepsReply(steps, { uri: uriJson(uri) });
      answer.blocks.unshift({ kind: 'tree', value: parsed });
      return answer;
    },
  }),
  defineCommand({
    words: ['diag', 'dns'],
    summary: 'Resolve a name over UDP and over TCP with each resolver (or the one given)',
    json: json.array(json.object({ transport: json.oneOf('udp', 'tcp'), server: json.string(), ok: json.boolean(), answered: json.boolean(), addresses: json.array(json.string()), detail: json.string(), ms: json.number() })),
    args: [
      { name: 'name', type: host('<name>') },
      { name: 'server', type: host('<dns-server>'), optional: true },
      { name: 'port', type: integer('<port>', 1, 65535), optional: true },
    ],
    async run(ctx, args) {
      const node = nodeOrDefault(ctx.store, osHostname());
      const servers = args.server ? [args.server] : node.dns.length ? node.dns : systemResolvers();
      const port = args.port ?? defaultPort('dns');
      const answers = (await Promise.all(servers.map((s) => Promise.all([queryUdp(args.name, s, port), queryTcp(args.name, s, port)])))).flat();
      const rows = answers.map((a) => [a.server, a.transport.toUpperCase(), a.ok ? 'ok' : 'failed', `${a.ms.toFixed(0)} ms`, a.detail]);
      const failed = answers.length === 0 || answers.some((a) => !a.ok);
      return reply.blocks([{ kind: 'table', columns: ['server', 'transport', 'result', 'time', 'answer'], rows }], answers as unknown as Json, failed ? 1 : 0);
    },
  }),
  defineCommand({
    words: ['diag', 'ping'],
    summary: 'Round-trip time to a host (3 echo requests)',
    json: json.object({ host: json.string(), reachable: json.boolean() }),
    args: [{ name: 'host', type: host() }],
    async run(ctx, args) {
      // Three echoes 1 s apart, 2 s for the last answer: 10 s is ample, and never on the event loop.
      const result = await runProcess('ping', ['-c', '3', '-W', '2', '--', args.host], { timeoutMs: 10_000, maxOutputBytes: 64 * 1024, signal: ctx.signal });
      return reply.blocks([{ kind: 'text', text: (result.stdout + result.stderr).trim() }], { host: args.host, reachable: result.status === 0 }, result.status === 0 ? 0 : 1);
    },
  }),
  defineCommand({
    words: ['diag', 'traceroute'],
    summary: 'The route to a host, hop by hop',
    json: json.object({ host: json.string() }),
    args: [{ name: 'host', type: host() }],
    async run(ctx, args) {
      const result = await runProcess('traceroute', ['-n', '-w', '1', '-q', '1', '-m', '20', args.host], { timeoutMs: 30_000, maxOutputBytes: 64 * 1024, signal: ctx.signal });
      return reply.blocks([{ kind: 'text', text: (result.stdout + result.stderr).trim() }], { host: args.host }, result.status === 0 ? 0 : 1);
    },
  }),
  defineCommand({
    words: ['diag', 'connectivity'],
    summary: 'Test every outbound flow to the configured external systems as it really goes: DNS, NTP, proxy, backups, notifications',
    json: json.union(connectivityShape, messageShape),
    async run(ctx) {
      const node = nodeOrDefault(ctx.store, osHostname());
      const text = `connectivity test from ${node.hostname} (diag connectivity by ${ctx.caller.user}); no action needed`;
      const inform = (uri: NetworkUri, signal: AbortSignal) => sendInform(uri, { node: node.hostname, level: 'info', event: 'diag-connectivity-test', text, at: new Date().toISOString() }, signal);
      const flows = connectivityFlows(ctx.store, { inform });
      if (flows.length === 0) return reply.text('no external systems are configured (network dns/ntp/proxy, backup add, notify add)');
      const results = await probeFlows(flows, { signal: ctx.signal });
      const rows = results.map((r) => [r.flow, r.destination, r.via, r.verdict, `${r.ms} ms`, r.detail]);
      const bound = { probeMs: PROBE_TIMEOUT_MS, flowDeadlineMs: FLOW_DEADLINE_MS, concurrency: CONCURRENCY, totalMs: TOTAL_BOUND_MS };
      const failed = results.some((r) => r.verdict !== 'ok');
      return reply.blocks(
        [
          { kind: 'table', columns: ['flow', 'destination', 'via', 'verdict', 'time', 'detail'], rows },
          { kind: 'text', text: `${results.filter((r) => r.verdict === 'ok').length} of ${results.length} flows ok; each probe at most ${FLOW_DEADLINE_MS / 1000} s, ${CONCURRENCY} at once, the whole test at most ${TOTAL_BOUND_MS / 1000} s` },
        ],
        { bound, flows: results } as unknown as Json,
        failed ? 1 : 0,
      );
    },
  }),
];

const ports = defineCommand({
  words: ['diag', 'ports'],
  summary: 'Listening sockets against the catalog and the firewall',
  json: json.array(json.object({ port: json.string(), listening: json.boolean(), catalogAndFirewall: json.string() })),
  run(ctx) {
    const firewall = ctx.services.firewall;
    const policy = firewall?.policy();
    const listening = firewall ? firewall.listeningNow() : listeningPorts();
    const known = new Map<string, string>();
    for (const o of policy?.open ?? []) known.set(`${o.port.port}/${o.port.protocol}`, `${o.service.name}: open to ${o.scope}`);
    for (const c of policy?.closed ?? []) known.set(`${c.port.port}/${c.port.protocol}`, `${c.service.name}: closed (${c.reason})`);
    const keys = [...new Set([...listening, ...known.keys()])].sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b));
    const rows = keys.map((key) => [key, listening.has(key) ? 'yes' : 'no', known.get(key) ?? 'not in the catalog: dropped by the firewall']);
    return reply.table(['port', 'listening', 'catalog and firewall'], rows, rows.map(([port, listening, known]) => ({ port: port!, listening: listening === 'yes', catalogAndFirewall: known! })));
  },
});

const subnet = defineCommand({
  words: ['diag', 'subnet'],
  summary: "The node's networks against reserved ranges and each other",
  json: json.array(json.object({ subject: json.string(), ok: json.boolean(), finding: json.string() })),
  async run() {
    const networks = Object.entries(networkInterfaces()).flatMap(([iface, list]) => (list ?? []).filter((a) => !a.internal && a.cidr).map((a) => ({ iface, cidr: a.cidr! })));
    const gateways = (await Promise.all(['-4', '-6'].map((family) => ipJson<{ gateway?: string }>([family, 'route', 'show', 'default'])))).flat().map((r) => r.gateway).filter((g): g is string => Boolean(g));
    const findings = checkSubnets(networks, gateways);
    return reply.blocks([{ kind: 'table', columns: ['what', 'result', 'finding'], rows: findings.map((f) => [f.subject, f.ok ? 'ok' : 'CONFLICT', f.finding]) }], findings as unknown as Json, findings.every((f) => f.ok) ? 0 : 1);
  },
});

const bundle = defineCommand({
  words: ['diag', 'bundle'],
  summary: 'Write a support archive to media: logs, configuration without secrets, ruleset and the checks above',
  json: json.object({ file: json.string() }),
  async run(ctx) {
    const node = nodeOrDefault(ctx.store, osHostname());
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const work = mkdtempSync(join(tmpdir(), 'platform-bundle-'));
    const name = `support-${node.hostname}-${stamp}`;
    const dir = join(work, name);
    mkdirSync(dir);
    try {
      ctx.progress('collecting configuration and checks');
      writeFileSync(join(dir, 'config.json'), JSON.stringify(configWithoutSecrets(ctx), null, 2));
      writeFileSync(join(dir, 'ruleset.nft'), ctx.services.firewall?.ruleset() ?? 'no firewall subsystem\n');
      const checks: [string, Command][] = [
        ['health.txt', healthCommand],
        ['ports.txt', ports],
        ['subnet.txt', subnet],
      ];
      for (const [file, command] of checks) {
        const result = await command.run(ctx, {});
        writeFileSync(join(dir, file), renderForBundle(result.blocks));
      }
      if (existsSync(ctx.paths.logs)) cpSync(ctx.paths.logs, join(dir, 'logs'), { recursive: true });
      const archive = join(ctx.paths.media, `${name}.tar.gz`);
      const tar = await runProcess('tar', ['-czf', archive, '-C', work, name], { timeoutMs: 120_000, signal: ctx.signal });
      if (tar.status !== 0) throw failure('bundle-failed', `tar failed: ${tar.stderr.trim()}`);
      chmodSync(archive, 0o644); // fetched with scp by a console user; the daemon's umask made it 0600
      return reply.text(`support bundle written to ${archive}`, { file: archive });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
});

/** `ip -j ...` as JSON, off the event loop; nothing when it fails or answers something else. */
/** Settings and lists as stored, with every URI redacted and password hashes left out. */
function configWithoutSecrets(ctx: Context): Json {
  const settings = Object.fromEntries(
    ctx.store.settings.withoutSecrets().map((r) => [r.key, redactDeep(r.value as Json)]),
  );
  return {
    settings,
    // As stored, redacted: a bundle shows even a proxy that no longer parses.
    proxy: redactStoredProxy(ctx),
    backupLocations: backupLocations(ctx.store).map((l) => ({ name: l.name, uri: redactUri(l.uri), alternate: l.alternate ? redactUri(l.alternate) : null })),
    notifyTargets: notifyTargets(ctx.store).map((t) => ({ level: t.level, uri: redactUri(t.uri) })),
    users: ctx.store.users.list().map((u) => ({ name: u.name, must_change: u.mustChange ? 1 : 0 })),
    cluster: ctx.store.inventory.list().map((n) => ({ address: n.address, hostname: n.hostname, roles: JSON.stringify(n.roles), data_centre: n.dataCentre, is_primary: n.primary ? 1 : 0, last_seen: n.lastSeen ?? null })),
  };
}

function redactStoredProxy(ctx: Context): string | null {
  const text = ctx.store.settings.get('network.proxy');
  return text ? redactSecrets(text, { word: true }) : null;
}

function redactDeep(value: Json): Json {
  if (typeof value === 'string') return redactSecrets(value, { word: true });
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)]));
  return value;
}

function renderForBundle(blocks: Block[]): string {
  return blocks.map((b) => renderBlock(b)).join('\n') + '\n';
}

export const diagGroup: Group = { word: 'diag', summary: 'system diagnostic tools', commands: [...commands, ports, subnet, bundle] };
