// `web ...`: the web server's certificate, its TLS policy, the upstream
// weights of the application backends, its web services (portals) and
// preparing a node to join a cluster as a web proxy.

import { DETAIL_FIELDS, checkAltNames, checkDetail, checkDetails } from '../certs/details.js';
import { TLS_MINIMUMS, type CertDetails } from '../store/settings.js';
import { backends, MAX_WEIGHT, zeroIsBackup, type Backend } from '../web/nginx.js';
import { PORTAL_NAMES, type PortalState } from '../web/portals.js';
import type { ClusterService } from '../cluster/service.js';
import { readNode, nodeOrDefault, writeNode } from '../store/node.js';
import { hostname as osHostname } from 'node:os';
import type { InstalledCertificate, WebService } from '../web/service.js';
import { choice, hostPort, integer, text } from '../core/argtypes.js';
import { json, type JsonOf } from '../core/json-shape.js';
import { badInput, failure } from '../core/errors.js';
import { formatTime } from '../core/time.js';
import { reply, type Json } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';
import { readdirSync } from 'node:fs';

function webOf(ctx: Context): WebService {
  if (!ctx.services.web) throw failure('no-web', 'the web subsystem is not running in this daemon');
  return ctx.services.web;
}

const mediaFileName: ArgType<string> = {
  ...text('<filename>'),
  complete: (ctx) => {
    try {
      return readdirSync(ctx.paths.media);
    } catch {
      return [];
    }
  },
};

/** `host:port` of an application backend; IPv6 in brackets. */
const serverPort: ArgType<string> = {
  ...hostPort('<server:port>'),
  complete: (ctx) => backends(ctx.store).map((b) => b.server),
};

function installedTree(cert: InstalledCertificate | undefined): Json {
  if (!cert) return 'none';
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    'subject alt names': cert.altNames,
    'valid from': formatTime(cert.validFrom),
    'valid to': formatTime(cert.validTo),
    'sha256 fingerprint': cert.fingerprint,
    key: cert.keyType,
    'self-signed': cert.selfSigned,
    'chain length': cert.chainLength,
  };
}

function detailsTree(details: CertDetails): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const field of DETAIL_FIELDS) out[field.label] = details[field.key] ?? null;
  out.SAN = details.altNames;
  return out;
}

// The JSON of the same trees: field names rather than the appliance's labels.
const detailsShape = json.object({
  commonName: json.nullable(json.string()),
  organization: json.nullable(json.string()),
  organizationalUnit: json.nullable(json.string()),
  locality: json.nullable(json.string()),
  state: json.nullable(json.string()),
  country: json.nullable(json.string()),
  email: json.nullable(json.string()),
  altNames: json.array(json.string()),
});
const installedShape = json.nullable(
  json.object({
    subject: json.string(),
    issuer: json.string(),
    altNames: json.array(json.string()),
    validFrom: json.time(),
    validTo: json.time(),
    fingerprint: json.string(),
    keyType: json.string(),
    selfSigned: json.boolean(),
    chainLength: json.integer(),
  }),
);

function detailsJson(details: CertDetails): JsonOf<typeof detailsShape> {
  const out = { altNames: details.altNames } as JsonOf<typeof detailsShape>;
  for (const field of DETAIL_FIELDS) out[field.key] = details[field.key] ?? null;
  return out;
}

const installedJson = (cert: InstalledCertificate | undefined): JsonOf<typeof installedShape> => (cert ? { ...cert } : null);

const weightsShape = json.array(json.object({ server: json.string(), weight: json.integer() }));

const detailOptions = [
  ...DETAIL_FIELDS.map((f) => ({ name: f.key, type: text(`<${f.label}>`), summary: `the ${f.label} of the certificate subject` })),
  { name: 'altNames', type: text('<name>[,<name>...]'), summary: 'extra DNS names and addresses (subjectAltName)' },
] as const;

// ---------------------------------------------------------------------------
// `web service ...`: the portals this web server fronts (web/portals.ts).

const serviceName = choice('<selfservice|admin>', ['selfservice', 'admin'] satisfies (typeof PORTAL_NAMES)[number][]);

const servicesShape = json.array(
  json.object({ name: json.oneOf(...PORTAL_NAMES), enabled: json.boolean(), purpose: json.string(), location: json.string(), redirectTo: json.nullable(json.string()) }),
);
const servicesJson = (states: PortalState[]): JsonOf<typeof servicesShape> =>
  states.map((p) => ({ name: p.name, enabled: p.enabled, purpose: p.purpose, location: p.location, redirectTo: p.redirectTo?.home ?? null }));
const servicesTable = (states: PortalState[]) => ({
  kind: 'table' as const,
  columns: ['service', 'state', 'URLs', 'purpose'],
  rows: states.map((p) => [p.name, p.enabled ? 'enabled' : `disabled (redirects to ${p.redirectTo?.name ?? '?'})`, p.location === '/' ? '/... (every other path)' : `${p.location}/...`, p.purpose]),
});

function setService(enabled: boolean) {
  return async (ctx: Context, args: { service: (typeof PORTAL_NAMES)[number] }) => {
    const web = webOf(ctx);
    ctx.progress('testing and reloading the web server configuration');
    const changed = await web.setPortal(args.service, enabled);
    const states = web.portals();
    const state = states.find((p) => p.name === args.service)!;
    const said = !changed
      ? `${args.service} is already ${enabled ? 'enabled' : 'disabled'}`
      : enabled
        ? `${args.service} enabled: served again at ${state.location}`
        : `${args.service} disabled: its URLs redirect to ${state.redirectTo?.name} (${state.redirectTo?.home})`;
    return reply.blocks([{ kind: 'text', text: said }, servicesTable(states)], { changed, services: servicesJson(states) });
  };
}

const serviceChangeShape = json.object({ changed: json.boolean(), services: servicesShape });

const serviceCommands: Command[] = [
  defineCommand({
    words: ['web', 'service', 'list'],
    summary: 'List the web services (admin and selfservice portals) and whether each is enabled',
    json: servicesShape,
    run(ctx) {
      const states = webOf(ctx).portals();
      return reply.blocks([servicesTable(states)], servicesJson(states));
    },
  }),
  defineCommand({
    words: ['web', 'service', 'enable'],
    summary: 'Enable a web service: nginx is tested and reloaded, and serves it again',
    json: serviceChangeShape,
    args: [{ name: 'service', type: serviceName }],
    run: setService(true),
  }),
  defineCommand({
    words: ['web', 'service', 'disable'],
    summary: 'Disable a web service: its URLs redirect to the enabled one (the last enabled one stays)',
    json: serviceChangeShape,
    args: [{ name: 'service', type: serviceName }],
    confirm: ({ service }) => `Disable ${service} on this web server? Its URLs will redirect to the other web service.`,
    run: setService(false),
  }),
];

// ---------------------------------------------------------------------------
// `web cluster prepnode`: `cluster prepnode` for a node that is to be a web proxy.

function clusterOf(ctx: Context): ClusterService {
  if (!ctx.services.cluster) throw failure('no-cluster-agent', 'the cluster subsystem is not running in this daemon');
  return ctx.services.cluster;
}

const webPrepnode = defineCommand({
  words: ['web', 'cluster', 'prepnode'],
  summary: 'Prepare this node to be joined to a cluster as a web proxy: role webproxy, joinable for 15 minutes',
  json: json.object({ role: json.oneOf('webproxy'), roleSet: json.boolean(), address: json.string(), code: json.string(), fingerprint: json.string(), until: json.time(), warnings: json.array(json.string()) }),
  async run(ctx) {
    const web = webOf(ctx);
    const cluster = clusterOf(ctx);
    const saved = readNode(ctx.store);
    const roles = saved?.roles ?? [];
    if (roles.some((r) => r !== 'webproxy')) {
      throw badInput(
        'not-a-web-proxy',
        `this node is set up as ${roles.join(',')}, not as a web proxy: prepare it with "cluster prepnode", or make it a web proxy first with "system setup --role webproxy"`,
      );
    }
    // Checked before the role is set, so that a refusal changes nothing.
    if (cluster.inventory().length > 0) throw badInput('already-member', 'this node is already in a cluster; remove it there with "cluster del" first');
    const roleSet = roles.length === 0;
    if (roleSet) writeNode(ctx.store, { ...nodeOrDefault(ctx.store, osHostname()), roles: ['webproxy'] });
    let prepared;
    try {
      prepared = await cluster.prepnode(); // the firewall follows the role and opens the agent to the primary
    } catch (error) {
      if (roleSet) writeNode(ctx.store, saved ?? { ...nodeOrDefault(ctx.store, osHostname()), roles: [] });
      throw error;
    }
    const warnings: string[] = [];
    if (!web.nginx.running()) warnings.push('nginx is not running on this node: see "log view" for why; a web proxy serves nothing without it');
    if (web.installed()?.selfSigned !== false) warnings.push('the web certificate is self-signed: users will be warned by their browsers; install a CA-signed one ("web cert gen_csr", then "web cert add <file>")');
    const next = [
      `On the primary: cluster add ${prepared.address} ${prepared.code}`,
      'then "cluster provision"; the application nodes become this proxy\'s backends ("web weight list").',
      'Optionally, on this proxy: "web weight add <server:port> <weight>", "web service disable <selfservice|admin>".',
    ];
    return reply.blocks(
      [
        { kind: 'tree', value: { role: `webproxy${roleSet ? ' (set now)' : ''}`, address: prepared.address, 'join code': prepared.code, 'certificate fingerprint': prepared.fingerprint, 'joinable until': formatTime(prepared.until) } },
        ...warnings.map((text) => ({ kind: 'warning' as const, text: `WARNING: ${text}` })),
        { kind: 'text', text: next.join('\n') },
      ],
      { role: 'webproxy', roleSet, ...prepared, warnings },
    );
  },
});

const REPLACE_PENDING = "A certificate request is already pending. A new one replaces its private key: the CA's reply to the old request could no longer be installed. Make a new one?";
const STALE_CSR = 'the pending CSR no longer matches the certificate details (they were edited after it was made): make a new one with "web cert gen_csr"';

type DetailArgs = { [key in (typeof detailOptions)[number]['name']]?: string };

/** One-shot use: the options given, over the details kept; all checked before anything is saved. */
function fromOptions(current: CertDetails, args: DetailArgs): CertDetails {
  const merged: CertDetails = { ...current };
  for (const field of DETAIL_FIELDS) if (args[field.key] !== undefined) Object.assign(merged, { [field.key]: args[field.key] });
  if (args.altNames !== undefined) merged.altNames = args.altNames.split(',');
  return checkDetails(merged);
}

/**
 * The console's form: each field asked in turn, its current value offered,
 * and checked as it is answered; a bad answer says why and asks that field
 * again (what was answered before is kept).
 */
async function detailsForm(ctx: Context, current: CertDetails): Promise<CertDetails> {
  const answer = async <T>(text: string, initial: string, check: (value: string) => T): Promise<T> => {
    for (;;) {
      const value = await ctx.ask({ text, initial }); // fails when nobody can answer: that ends the form
      try {
        return check(value);
      } catch (error) {
        ctx.progress(`${(error as Error).message}; try again`);
      }
    }
  };
  const details: CertDetails = { ...current };
  for (const field of DETAIL_FIELDS) Object.assign(details, { [field.key]: await answer(field.label, current[field.key] ?? '', (value) => checkDetail(field, value)) });
  details.altNames = await answer('SAN (comma-separated)', current.altNames.join(','), checkAltNames);
  return details;
}

const commands: Command[] = [
  defineCommand({
    words: ['web', 'cert', 'details'],
    summary: 'Print the certificate details in the config system and the installed certificate',
    json: json.object({ details: detailsShape, installed: installedShape }),
    run(ctx) {
      const web = webOf(ctx);
      return reply.tree({ details: detailsTree(web.details()), installed: installedTree(web.installed()) }, { details: detailsJson(web.details()), installed: installedJson(web.installed()) });
    },
  }),
  defineCommand({
    words: ['web', 'cert', 'details', 'edit'],
    summary: 'Update the certificate details in the config system (a form in the console)',
    json: detailsShape,
    options: detailOptions,
    async run(ctx, args) {
      const web = webOf(ctx);
      const given = detailOptions.some((o) => args[o.name] !== undefined);
      const details = given ? fromOptions(web.details(), args) : await detailsForm(ctx, web.details());
      web.saveDetails(details);
      const warnings = (await web.pendingMatchesDetails()) === false ? [STALE_CSR] : [];
      return reply.blocks([{ kind: 'tree', value: detailsTree(details) }, ...warnings.map((text) => ({ kind: 'warning' as const, text: `WARNING: ${text}` }))], detailsJson(details));
    },
  }),
  defineCommand({
    words: ['web', 'cert', 'gen_csr'],
    summary: 'Make a new private key and a CSR from the details; the CSR is written to the media folder',
    json: json.object({ file: json.string(), csr: json.string() }),
    async run(ctx) {
      const web = webOf(ctx);
      web.csrFileName(); // a CN that cannot name the file is refused before anything is asked
      if (web.pendingRequestExists() && !(await ctx.confirm(REPLACE_PENDING))) {
        throw failure('not-confirmed', 'the pending certificate request is kept ("web cert print_csr" prints it); confirm, or give --yes, to replace it');
      }
      ctx.progress('generating an RSA key and a certificate request');
      const { file, csr } = await web.generateCsr();
      return reply.blocks([{ kind: 'text', text: `CSR written to ${file}\nSend it to your CA, upload its reply with scp to media/ and run "web cert add <filename>".\n\n${csr.trimEnd()}` }], { file, csr });
    },
  }),
  defineCommand({
    words: ['web', 'cert', 'print_csr'],
    summary: 'Print the pending CSR (and write it to the media folder)',
    json: json.object({ file: json.string(), csr: json.string(), warnings: json.array(json.string()) }),
    async run(ctx) {
      const { file, csr, matchesDetails } = await webOf(ctx).pendingCsr();
      const warnings = matchesDetails ? [] : [STALE_CSR];
      return reply.blocks([...warnings.map((text) => ({ kind: 'warning' as const, text: `WARNING: ${text}` })), { kind: 'text', text: csr.trimEnd() }], { file, csr, warnings });
    },
  }),
  defineCommand({
    words: ['web', 'cert', 'add'],
    summary: 'Install the certificate from <filename> (uploaded to media) into the web server',
    json: json.object({ installed: installedShape, warnings: json.array(json.string()) }),
    args: [{ name: 'file', type: mediaFileName }],
    async run(ctx, args) {
      ctx.progress('checking the certificate');
      const { installed, warnings } = await webOf(ctx).add(ctx, args.file);
      return reply.blocks(
        [...warnings.map((w) => ({ kind: 'warning' as const, text: `WARNING: ${w}` })), { kind: 'text', text: `installed and served: ${installed.subject}, valid to ${formatTime(installed.validTo)}` }],
        { installed: installedJson(installed), warnings },
      );
    },
  }),
  defineCommand({
    words: ['web', 'cert', 'del'],
    summary: 'Revert to a self-signed certificate',
    json: json.object({ installed: installedShape }),
    confirm: 'Replace the installed certificate with a new self-signed one?',
    async run(ctx) {
      const installed = await webOf(ctx).generateSelfSigned();
      return reply.tree({ installed: installedTree(installed) }, { installed: installedJson(installed) });
    },
  }),
  defineCommand({
    words: ['web', 'cert', 'gen_selfsigned'],
    summary: 'Generate a self-signed certificate and serve it',
    json: json.object({ installed: installedShape }),
    confirm: 'Replace the installed certificate with a new self-signed one?',
    async run(ctx) {
      ctx.progress('generating a key and a self-signed certificate');
      const installed = await webOf(ctx).generateSelfSigned();
      return reply.tree({ installed: installedTree(installed) }, { installed: installedJson(installed) });
    },
  }),
  defineCommand({
    words: ['web', 'sslv3'],
    summary: 'Show or set SSLv3 (this system cannot offer it; see "web tls minimum")',
    json: json.object({ sslv3: json.boolean(), tlsMinimum: json.oneOf(...TLS_MINIMUMS) }),
    args: [{ name: 'state', type: choice('<on|off>', ['on', 'off']), optional: true }],
    run(ctx, args) {
      if (args.state === 'on') {
        throw failure('sslv3-unavailable', "SSLv3 cannot be enabled: this system's OpenSSL has no SSLv3 (it is broken and removed). The lowest protocol offered is TLS 1.2; see \"web tls minimum\".");
      }
      const tlsMinimum = ctx.store.settings.get('web.tlsMinimum');
      return reply.tree({ sslv3: 'off', 'tls minimum': tlsMinimum }, { sslv3: false, tlsMinimum });
    },
  }),
  defineCommand({
    words: ['web', 'tls', 'minimum'],
    summary: 'Show or set the lowest TLS version the web server accepts (1.2 or 1.3)',
    json: json.object({ tlsMinimum: json.oneOf(...TLS_MINIMUMS) }),
    args: [{ name: 'version', type: choice('<1.2|1.3>', TLS_MINIMUMS), optional: true }],
    async run(ctx, args) {
      const previous = ctx.store.settings.get('web.tlsMinimum');
      if (args.version) {
        ctx.store.settings.set('web.tlsMinimum', args.version);
        try {
          await webOf(ctx).reconfigure();
        } catch (error) {
          ctx.store.settings.set('web.tlsMinimum', previous);
          throw failure('nginx-refused', (error as Error).message);
        }
      }
      return reply.tree({ 'tls minimum': args.version ?? previous });
    },
  }),
  defineCommand({
    words: ['web', 'weight', 'list'],
    summary: 'Display the weights of the upstream application servers',
    json: weightsShape,
    run(ctx) {
      const list = backends(ctx.store);
      const text = list.length ? weightLines(list) : 'no application backends';
      return reply.blocks([{ kind: 'text', text }], list.map((b) => ({ server: b.server, weight: b.weight })));
    },
  }),
  defineCommand({
    words: ['web', 'weight', 'add'],
    summary: 'Set the weight of an upstream server; higher serves more, 0 only when no other is available',
    json: weightsShape,
    args: [
      { name: 'server', type: serverPort },
      { name: 'weight', type: integer('<weight>', 0, MAX_WEIGHT) },
    ],
    run(ctx, args) {
      return changeWeights(ctx, () => ctx.store.weights.set(args.server, args.weight));
    },
  }),
  defineCommand({
    words: ['web', 'weight', 'del'],
    summary: 'Delete the weight of an upstream server and use the system default',
    json: weightsShape,
    args: [{ name: 'server', type: serverPort }],
    run(ctx, args) {
      const exists = ctx.store.weights.has(args.server);
      if (!exists) throw badInput('no-such-weight', `${args.server} has no weight set; see "web weight list"`);
      return changeWeights(ctx, () => ctx.store.weights.remove(args.server));
    },
  }),
  ...serviceCommands,
  webPrepnode,
];

/**
 * Changes weights and nginx together: if nginx refuses, the store gets its
 * previous weights back. The change is committed before nginx is tested (the
 * test runs off the event loop, and no transaction is held across it).
 */
async function changeWeights(ctx: Context, change: () => void) {
  const web = webOf(ctx);
  await web.oneAtATime(async () => {
    const before = ctx.store.weights.list();
    ctx.store.tx(change);
    try {
      await web.reconfigure();
    } catch (error) {
      ctx.store.weights.replace(before);
      throw failure('nginx-refused', `weights unchanged: ${(error as Error).message}`);
    }
  });
  const list = backends(ctx.store);
  const allZero = list.length > 0 && !zeroIsBackup(list);
  return reply.blocks(
    [{ kind: 'text', text: weightLines(list) }, ...(allZero ? [{ kind: 'warning' as const, text: ALL_ZERO_WARNING }] : [])],
    list.map((b) => ({ server: b.server, weight: b.weight })),
  );
}

const ALL_ZERO_WARNING = 'WARNING: every backend has weight 0: with no other server available they all serve, in turn';

/** `server:port: weight`, saying what a 0 means with the others (the seed: 0 serves only if no other server is available). */
function weightLines(list: readonly Backend[]): string {
  const backups = zeroIsBackup(list);
  return list.map((b) => `${b.server}: ${b.weight}${b.weight > 0 ? '' : backups ? ' (backup)' : ' (serving: no backend has a weight above 0)'}`).join('\n');
}

export const webGroup: Group = { word: 'web', summary: 'web server management', commands };
