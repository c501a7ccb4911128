// `web ...`: the web server's certificate, its TLS policy and the upstream
// weights of the application backends.

import { DETAIL_FIELDS, type CertDetails } from '../certs/generate.js';
import { backends, TLS_MINIMUMS, type TlsMinimum } from '../web/nginx.js';
import type { InstalledCertificate, WebService } from '../web/service.js';
import { choice, hostPort, integer, text } from '../core/argtypes.js';
import { json, type JsonOf } from '../core/json-shape.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Json } from '../core/reply.js';
import { type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';
import { readdirSync } from 'node:fs';
import { safeName } from '../os/names.js';

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
    'valid from': cert.validFrom,
    'valid to': cert.validTo,
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
];

const commands: Command[] = [
  {
    words: ['web', 'cert', 'details'],
    summary: 'Print the certificate details in the config system and the installed certificate',
    json: json.object({ details: detailsShape, installed: installedShape }),
    run(ctx) {
      const web = webOf(ctx);
      return reply.tree({ details: detailsTree(web.details()), installed: installedTree(web.installed()) }, { details: detailsJson(web.details()), installed: installedJson(web.installed()) });
    },
  },
  {
    words: ['web', 'cert', 'details', 'edit'],
    summary: 'Update the certificate details in the config system (a form in the console)',
    json: detailsShape,
    options: detailOptions,
    async run(ctx, args) {
      const web = webOf(ctx);
      const details = { ...web.details() };
      const given = detailOptions.some((o) => args[o.name] !== undefined);
      for (const field of DETAIL_FIELDS) {
        const value = given ? (args[field.key] as string | undefined) : await ctx.ask({ text: field.label, initial: details[field.key] ?? '' });
        if (value !== undefined) (details as unknown as Record<string, string | undefined>)[field.key] = value || undefined;
      }
      const alt = given ? (args.altNames as string | undefined) : await ctx.ask({ text: 'SAN (comma-separated)', initial: details.altNames.join(',') });
      if (alt !== undefined) details.altNames = alt.split(',').map((s) => s.trim()).filter(Boolean);
      if (!details.commonName) throw badInput('no-common-name', 'the CN must not be empty');
      // The CN names the CSR's file in media: it must be a plain name.
      safeName(`${details.commonName}.csr`, 'CN');
      if (details.country && !/^[A-Z]{2}$/.test(details.country)) throw badInput('bad-country', `C must be a two-letter country code, not "${details.country}"`);
      web.saveDetails(details);
      return reply.tree(detailsTree(details), detailsJson(details));
    },
  },
  {
    words: ['web', 'cert', 'gen_csr'],
    summary: 'Make a new private key and a CSR from the details; the CSR is written to the media folder',
    json: json.object({ file: json.string(), csr: json.string() }),
    async run(ctx) {
      ctx.progress('generating an RSA key and a certificate request');
      const { file, csr } = await webOf(ctx).generateCsr();
      return reply.blocks([{ kind: 'text', text: `CSR written to ${file}\nSend it to your CA, upload its reply with scp to media/ and run "web cert add <filename>".\n\n${csr.trimEnd()}` }], { file, csr });
    },
  },
  {
    words: ['web', 'cert', 'print_csr'],
    summary: 'Print the pending CSR (and write it to the media folder)',
    json: json.object({ file: json.string(), csr: json.string() }),
    run(ctx) {
      const { file, csr } = webOf(ctx).pendingCsr();
      return reply.blocks([{ kind: 'text', text: csr.trimEnd() }], { file, csr });
    },
  },
  {
    words: ['web', 'cert', 'add'],
    summary: 'Install the certificate from <filename> (uploaded to media) into the web server',
    json: json.object({ installed: installedShape, warnings: json.array(json.string()) }),
    args: [{ name: 'file', type: mediaFileName }],
    async run(ctx, args) {
      ctx.progress('checking the certificate');
      const { installed, warnings } = await webOf(ctx).add(ctx, args.file as string);
      return reply.blocks(
        [...warnings.map((w) => ({ kind: 'warning' as const, text: `WARNING: ${w}` })), { kind: 'text', text: `installed and served: ${installed.subject}, valid to ${installed.validTo}` }],
        { installed: installedJson(installed), warnings },
      );
    },
  },
  {
    words: ['web', 'cert', 'del'],
    summary: 'Revert to a self-signed certificate',
    json: json.object({ installed: installedShape }),
    confirm: 'Replace the installed certificate with a new self-signed one?',
    async run(ctx) {
      const installed = await webOf(ctx).generateSelfSigned();
      return reply.tree({ installed: installedTree(installed) }, { installed: installedJson(installed) });
    },
  },
  {
    words: ['web', 'cert', 'gen_selfsigned'],
    summary: 'Generate a self-signed certificate and serve it',
    json: json.object({ installed: installedShape }),
    confirm: 'Replace the installed certificate with a new self-signed one?',
    async run(ctx) {
      ctx.progress('generating a key and a self-signed certificate');
      const installed = await webOf(ctx).generateSelfSigned();
      return reply.tree({ installed: installedTree(installed) }, { installed: installedJson(installed) });
    },
  },
  {
    words: ['web', 'sslv3'],
    summary: 'Show or set SSLv3 (this system cannot offer it; see "web tls minimum")',
    json: json.object({ sslv3: json.boolean(), tlsMinimum: json.oneOf(...TLS_MINIMUMS) }),
    args: [{ name: 'state', type: choice('<on|off>', ['on', 'off']), optional: true }],
    run(ctx, args) {
      if (args.state === 'on') {
        throw failure('sslv3-unavailable', "SSLv3 cannot be enabled: this system's OpenSSL has no SSLv3 (it is broken and removed). The lowest protocol offered is TLS 1.2; see \"web tls minimum\".");
      }
      const tlsMinimum = ctx.store.get<TlsMinimum>('web.tlsMinimum') ?? '1.2';
      return reply.tree({ sslv3: 'off', 'tls minimum': tlsMinimum }, { sslv3: false, tlsMinimum });
    },
  },
  {
    words: ['web', 'tls', 'minimum'],
    summary: 'Show or set the lowest TLS version the web server accepts (1.2 or 1.3)',
    json: json.object({ tlsMinimum: json.oneOf(...TLS_MINIMUMS) }),
    args: [{ name: 'version', type: choice('<1.2|1.3>', TLS_MINIMUMS), optional: true }],
    async run(ctx, args) {
      const previous = ctx.store.get<TlsMinimum>('web.tlsMinimum') ?? '1.2';
      if (args.version) {
        ctx.store.set('web.tlsMinimum', args.version);
        try {
          await webOf(ctx).reconfigure();
        } catch (error) {
          ctx.store.set('web.tlsMinimum', previous);
          throw failure('nginx-refused', (error as Error).message);
        }
      }
      return reply.tree({ 'tls minimum': (args.version as string | undefined) ?? previous });
    },
  },
  {
    words: ['web', 'weight', 'list'],
    summary: 'Display the weights of the upstream application servers',
    json: weightsShape,
    run(ctx) {
      const list = backends(ctx.store);
      const text = list.length ? list.map((b) => `${b.server}: ${b.weight}${b.weight === 0 ? ' (backup)' : ''}`).join('\n') : 'no application backends';
      return reply.blocks([{ kind: 'text', text }], list.map((b) => ({ server: b.server, weight: b.weight })));
    },
  },
  {
    words: ['web', 'weight', 'add'],
    summary: 'Set the weight of an upstream server; higher serves more, 0 only when no other is available',
    json: weightsShape,
    args: [
      { name: 'server', type: serverPort },
      { name: 'weight', type: integer('<weight>', 0, 100) },
    ],
    run(ctx, args) {
      return changeWeights(ctx, () => ctx.store.db.prepare('INSERT INTO web_weights (server, weight) VALUES (?, ?) ON CONFLICT(server) DO UPDATE SET weight = excluded.weight').run(args.server, args.weight));
    },
  },
  {
    words: ['web', 'weight', 'del'],
    summary: 'Delete the weight of an upstream server and use the system default',
    json: weightsShape,
    args: [{ name: 'server', type: serverPort }],
    run(ctx, args) {
      const exists = ctx.store.db.prepare('SELECT 1 FROM web_weights WHERE server = ?').get(args.server);
      if (!exists) throw badInput('no-such-weight', `${args.server as string} has no weight set; see "web weight list"`);
      return changeWeights(ctx, () => ctx.store.db.prepare('DELETE FROM web_weights WHERE server = ?').run(args.server));
    },
  },
];

/**
 * Changes weights and nginx together: if nginx refuses, the store gets its
 * previous weights back. The change is committed before nginx is tested (the
 * test runs off the event loop, and no transaction is held across it).
 */
async function changeWeights(ctx: Context, change: () => void) {
  const web = webOf(ctx);
  await web.oneAtATime(async () => {
    const before = ctx.store.db.prepare('SELECT server, weight FROM web_weights').all() as { server: string; weight: number }[];
    ctx.store.tx(change);
    try {
      await web.reconfigure();
    } catch (error) {
      ctx.store.tx(() => {
        ctx.store.db.prepare('DELETE FROM web_weights').run();
        const insert = ctx.store.db.prepare('INSERT INTO web_weights (server, weight) VALUES (?, ?)');
        for (const row of before) insert.run(row.server, row.weight);
      });
      throw failure('nginx-refused', `weights unchanged: ${(error as Error).message}`);
    }
  });
  const list = backends(ctx.store);
  return reply.blocks([{ kind: 'text', text: list.map((b) => `${b.server}: ${b.weight}`).join('\n') }], list.map((b) => ({ server: b.server, weight: b.weight })));
}

export const webGroup: Group = { word: 'web', summary: 'web server management', commands };
