// `network ...`: the node's network settings and the generated network
// requirements. Settings are kept in the config store; this build writes
// them to the operating system's files only on an appliance (not in the
// embedded default), and every command says which.

import { hostname as osHostname } from 'node:os';
import { writeFileInside } from '../os/files.js';
import { nodeOrDefault, writeNode } from '../store/node.js';
import { type NodeSettings } from '../store/settings.js';
import { ipJson, primaryAddress } from '../os/host.js';
import { requirements, toCsv, toMarkdown } from '../net/requirements.js';
import { applyOsSettings, osFiles, writeOsFiles } from '../net/os-config.js';
import { formatUri } from '../net/uri.js';
import { bypassArg, egressOf, NEVER_PROXIED, proxyArg } from '../net/connector.js';
import { choice, host, hostname, ipAddress } from '../core/argtypes.js';
import { json } from '../core/json-shape.js';
import { badInput } from '../core/errors.js';
import { reply, type Block, type Json, type Reply } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';
import { staticCommands } from './network-static.js';

const withWarnings = (result: Reply, warnings: Block[]): Reply => (warnings.length ? { ...result, blocks: [...result.blocks, ...warnings] } : result);

const isAppliance = (ctx: Context) => ctx.store.settings.get('daemon')?.appliance === true;
const whereKept = (ctx: Context) =>
  isAppliance(ctx) ? `kept in the config store and written to ${osFiles(nodeOrDefault(ctx.store, osHostname())).map((f) => `/${f.path}`).join(', ')}` : 'kept in the config store (embedded default: the operating system is not changed)';

/**
 * Changes the node's settings in the store and, on an appliance, in the OS
 * files and the running system (host name, chrony), or neither. Returns the
 * node and a warning for each step the running system refused.
 */
async function change(ctx: Context, mutate: (node: NodeSettings) => void): Promise<{ node: NodeSettings; warnings: Block[] }> {
  const before = nodeOrDefault(ctx.store, osHostname());
  const node = nodeOrDefault(ctx.store, osHostname());
  mutate(node);
  ctx.store.tx(() => {
    writeNode(ctx.store, node);
    if (isAppliance(ctx)) writeOsFiles(node); // a failure here rolls the store back too
  });
  const warnings = isAppliance(ctx) ? await applyOsSettings(before, node) : [];
  return { node, warnings: warnings.map((text) => ({ kind: 'warning' as const, text })) };
}

/** The seed: the web certificate must match the node's network name; a new name leaves it behind. */
const certificateWarnings = (ctx: Context): Block[] => {
  const warning = ctx.services.web?.networkNameWarning();
  return warning ? [{ kind: 'warning', text: `WARNING: ${warning}` }] : [];
};

const listShape = (word: 'dns' | 'ntp') => json.object({ [word]: json.array(json.string()) });

/** `network dns`, `network dns add <x>`, `network dns del <x>` for a list setting. */
function listSetting(word: 'dns' | 'ntp', key: 'dns' | 'ntp', type: ArgType<string>, what: string): Command[] {
  const show = (ctx: Context) => reply.blocks([{ kind: 'tree', value: { [word]: nodeOrDefault(ctx.store, osHostname())[key] } }, { kind: 'text', text: whereKept(ctx) }], { [word]: nodeOrDefault(ctx.store, osHostname())[key] });
  return [
    defineCommand({ words: ['network', word], summary: `Show the ${what}`, json: listShape(word), run: show }),
    defineCommand({
      words: ['network', word, 'add'],
      summary: `Add a ${what.replace(/s$/, '')}`,
      json: listShape(word),
      args: [{ name: 'value', type }],
      async run(ctx, args) {
        const value = args.value;
        if (nodeOrDefault(ctx.store, osHostname())[key].includes(value)) throw badInput('duplicate', `${value} is already listed`);
        const { warnings } = await change(ctx, (n) => n[key].push(value));
        return withWarnings(show(ctx), warnings);
      },
    }),
    defineCommand({
      words: ['network', word, 'del'],
      summary: `Remove a ${what.replace(/s$/, '')}`,
      json: listShape(word),
      args: [{ name: 'value', type }],
      async run(ctx, args) {
        const value = args.value;
        if (!nodeOrDefault(ctx.store, osHostname())[key].includes(value)) throw badInput('not-listed', `${value} is not listed; see "network ${word}"`);
        const { warnings } = await change(ctx, (n) => (n[key] = n[key].filter((v) => v !== value)));
        return withWarnings(show(ctx), warnings);
      },
    }),
  ];
}

const MAX_BYPASS_ENTRIES = 256;

const proxyShape = json.object({ proxy: json.nullable(json.string()), kind: json.nullable(json.oneOf('http', 'socks5')), bypass: json.array(json.string()), direct: json.array(json.string()) });

/** The proxy (password hidden), its bypass list, and what never goes through it (UDP). */
function proxyReply(ctx: Context): Reply {
  const { proxy, bypass } = egressOf(ctx.store);
  const shown = proxy ? formatUri(proxy, { redact: true }) : null;
  const kind = proxy ? (proxy.scheme === 'socks5' ? 'SOCKS5' : 'HTTP CONNECT') : null;
  return reply.tree(
    {
      proxy: shown ? `${shown} (${kind}: every outbound TCP connection)` : 'none: every connection goes direct',
      bypass: bypass.length ? [...bypass] : 'none',
      'always direct (UDP cannot be proxied)': [...NEVER_PROXIED],
    },
    { proxy: shown, kind: (proxy?.scheme as 'http' | 'socks5' | undefined) ?? null, bypass: [...bypass], direct: [...NEVER_PROXIED] },
  );
}

const commands: Command[] = [
  ...staticCommands,
  defineCommand({
    words: ['network', 'routes'],
    summary: "Show the node's routing table",
    json: json.array(json.object({ destination: json.nullable(json.string()), gateway: json.nullable(json.string()), device: json.nullable(json.string()), source: json.nullable(json.string()) })),
    async run() {
      const routes = (await Promise.all(['-4', '-6'].map((family) => ipJson<Record<string, string>>([family, 'route', 'show'])))).flat();
      return reply.table(
        ['destination', 'gateway', 'device', 'source'],
        routes.map((r) => [r.dst ?? '', r.gateway ?? '', r.dev ?? '', r.prefsrc ?? '']),
        routes.map((r) => ({ destination: r.dst ?? null, gateway: r.gateway ?? null, device: r.dev ?? null, source: r.prefsrc ?? null })),
      );
    },
  }),
  defineCommand({
    words: ['network', 'hostname'],
    summary: "Show or set the node's host name",
    json: json.object({ hostname: json.string() }),
    args: [{ name: 'name', type: hostname(), optional: true }],
    async run(ctx, { name }) {
      const { node, warnings } = name ? await change(ctx, (n) => (n.hostname = name)) : { node: nodeOrDefault(ctx.store, osHostname()), warnings: [] };
      return reply.blocks([{ kind: 'tree', value: { hostname: node.hostname } }, ...(name ? [{ kind: 'text' as const, text: whereKept(ctx) }, ...certificateWarnings(ctx)] : []), ...warnings], { hostname: node.hostname });
    },
  }),
  defineCommand({
    words: ['network', 'domain'],
    summary: 'Show or set the DNS domain',
    json: json.object({ domain: json.nullable(json.string()) }),
    args: [{ name: 'domain', type: hostname('<domain>'), optional: true }],
    async run(ctx, { domain }) {
      const { node, warnings } = domain ? await change(ctx, (n) => (n.domain = domain)) : { node: nodeOrDefault(ctx.store, osHostname()), warnings: [] };
      return reply.blocks([{ kind: 'tree', value: { domain: node.domain ?? null } }, ...(domain ? [{ kind: 'text' as const, text: whereKept(ctx) }, ...certificateWarnings(ctx)] : []), ...warnings], { domain: node.domain ?? null });
    },
  }),
  ...listSetting('dns', 'dns', ipAddress('<dns-server>'), 'DNS resolvers'),
  ...listSetting('ntp', 'ntp', host('<ntp-server>'), 'NTP servers'),
  defineCommand({
    words: ['network', 'proxy'],
    summary: 'Show, or set, the proxy of every outbound TCP connection: http://[user:password@]host:port (HTTP CONNECT) or socks5://[user:password@]host[:port]',
    json: proxyShape,
    args: [{ name: 'uri', type: proxyArg, optional: true }],
    run(ctx, args) {
      if (args.uri) ctx.store.settings.set('network.proxy', formatUri(args.uri));
      return proxyReply(ctx);
    },
  }),
  defineCommand({
    words: ['network', 'proxy', 'del'],
    summary: 'Stop using a proxy: every connection goes direct',
    json: proxyShape,
    run(ctx) {
      ctx.store.settings.set('network.proxy', undefined);
      return proxyReply(ctx);
    },
  }),
  defineCommand({
    words: ['network', 'proxy', 'bypass'],
    summary: 'Show the destinations reached directly, not through the proxy',
    json: proxyShape,
    run: (ctx) => proxyReply(ctx),
  }),
  defineCommand({
    words: ['network', 'proxy', 'bypass', 'add'],
    summary: 'Reach a host, .domain (and every name under it), address or network (CIDR) directly, not through the proxy',
    json: proxyShape,
    args: [{ name: 'destination', type: bypassArg }],
    run(ctx, args) {
      const list = ctx.store.settings.get('network.proxyBypass');
      if (list.includes(args.destination)) throw badInput('duplicate', `${args.destination} is already on the bypass list`);
      if (list.length >= MAX_BYPASS_ENTRIES) throw badInput('too-many', `the bypass list holds at most ${MAX_BYPASS_ENTRIES} entries; use a .domain or a network`);
      ctx.store.settings.set('network.proxyBypass', [...list, args.destination]);
      return proxyReply(ctx);
    },
  }),
  defineCommand({
    words: ['network', 'proxy', 'bypass', 'del'],
    summary: 'Send a destination through the proxy again',
    json: proxyShape,
    args: [{ name: 'destination', type: bypassArg }],
    run(ctx, args) {
      const list = ctx.store.settings.get('network.proxyBypass');
      if (!list.includes(args.destination)) throw badInput('not-listed', `${args.destination} is not on the bypass list; see "network proxy bypass"`);
      ctx.store.settings.set('network.proxyBypass', list.filter((entry) => entry !== args.destination));
      return proxyReply(ctx);
    },
  }),
  defineCommand({
    words: ['network', 'requirements'],
    summary: 'Write the network requirements of this cluster (every flow of every node) to media',
    json: json.array(
      json.object({ direction: json.oneOf('inbound', 'outbound', 'internal'), source: json.string(), destination: json.string(), protocol: json.oneOf('tcp', 'udp'), port: json.integer(), purpose: json.string(), reference: json.string() }),
    ),
    options: [{ name: 'format', type: choice('<md|csv|json>', ['md', 'csv', 'json']), summary: 'md (default), csv or json' }],
    run(ctx, args) {
      const format = args.format ?? 'md';
      const node = nodeOrDefault(ctx.store, osHostname());
      const rows = requirements(ctx.store, node.ip ?? primaryAddress() ?? '127.0.0.1');
      const text = format === 'csv' ? toCsv(rows) : format === 'json' ? JSON.stringify(rows, null, 2) + '\n' : toMarkdown(rows, `Network requirements of the cluster of ${node.hostname}`);
      const file = writeFileInside(ctx.paths.media, `network-requirements.${format}`, text, 0o644);
      return reply.blocks([{ kind: 'text', text: `${text.trimEnd()}\n\nwritten to ${file}` }], rows as unknown as Json);
    },
  }),
];

export const networkGroup: Group = { word: 'network', summary: 'network management', commands };
