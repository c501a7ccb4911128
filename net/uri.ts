// Network URIs: every scheme of the seed's specification, parsed by its own
// grammar (WHATWG URL only knows http(s), ftp and file; sftp, scp, snmp and
// mailto need their own), validated part by part, formatted back, and shown
// with secrets replaced by ***. The grammar itself is core/uri-grammar.ts.
//
//   ftp://user[:password]@host[:port][/path]
//   http(s)://[user[:password]@]host[:port][/path]
//   file:///path[/filename]
//   sftp://user[:password]@host[:port][/path]
//   scp://[user@]host[:port]:[/path]
//   mailto:user@host
//   snmp://community@host[:port]                (SNMP v2c)
//   snmp://user:auth:password@host[:port]       (SNMP v3 authNoPriv: auth = MD5|SHA|SHA-224|SHA-256|SHA-384|SHA-512)
//   snmp://user:auth:password:priv:privpassword@host[:port]   (SNMP v3 authPriv: priv = DES|AES)

import { isIP } from 'node:net';
import { badInput } from '../core/errors.js';
import { type ArgType } from '../core/command.js';
import { defaultPort } from '../catalog/derive.js';
import { SCHEMES, UriError, parseUri, type NetworkUri, type Scheme } from '../core/uri-grammar.js';
import { SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS } from '../core/snmp-protocols.js';

export { parseUri, SCHEMES, UriError, type NetworkUri, type Scheme } from '../core/uri-grammar.js';

/** The port a URI without one means: its protocol's well-known port, from the catalog. */
export const DEFAULT_PORTS: Record<Exclude<Scheme, 'file' | 'mailto'>, number> = {
  ftp: defaultPort('ftp'),
  http: defaultPort('http'),
  https: defaultPort('https'),
  sftp: defaultPort('ssh'),
  scp: defaultPort('ssh'),
  snmp: defaultPort('snmpTrap'),
};
export { SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS };

/** Percent-encodes what would break the grammar of a user, password or path part. */
const encodeUserinfo = (text: string) => encodeURIComponent(text);
const encodePath = (text: string) => text.split('/').map((segment) => encodeURIComponent(segment).replace(/%3A/gi, ':').replace(/%40/g, '@')).join('/');

const hostText = (host: string) => (isIP(host) === 6 ? `[${host}]` : host);

/** The URI as text; with `redact`, every secret is `***`. */
export function formatUri(uri: NetworkUri, options: { redact?: boolean } = {}): string {
  const secret = (value: string) => (options.redact ? '***' : encodeUserinfo(value));
  const port = uri.port !== undefined ? `:${uri.port}` : '';
  switch (uri.scheme) {
    case 'mailto':
      return `mailto:${encodeUserinfo(uri.user!)}@${uri.host}`;
    case 'file':
      return `file://${encodePath(uri.path!)}`;
    case 'scp':
      return `scp://${uri.user !== undefined ? `${encodeUserinfo(uri.user)}@` : ''}${hostText(uri.host!)}${port}:${uri.path !== undefined ? encodePath(uri.path) : ''}`;
    case 'snmp':
      return uri.snmpVersion === 'v3'
        ? `snmp://${encodeUserinfo(uri.user!)}:${uri.auth}:${secret(uri.password!)}${uri.priv ? `:${uri.priv}:${secret(uri.privPassword!)}` : ''}@${hostText(uri.host!)}${port}`
        : `snmp://${secret(uri.community!)}@${hostText(uri.host!)}${port}`;
    default: {
      const userinfo = uri.user !== undefined ? `${encodeUserinfo(uri.user)}${uri.password !== undefined ? `:${secret(uri.password)}` : ''}@` : '';
      return `${uri.scheme}://${userinfo}${hostText(uri.host!)}${port}${uri.path !== undefined ? encodePath(uri.path) : ''}`;
    }
  }
}

export const redactUri = (uri: NetworkUri) => formatUri(uri, { redact: true });

export function effectivePort(uri: NetworkUri): number | undefined {
  if (uri.scheme === 'file' || uri.scheme === 'mailto') return undefined;
  return uri.port ?? DEFAULT_PORTS[uri.scheme];
}

/** The parts of a URI for display, secrets hidden. */
export function describeUri(uri: NetworkUri): Record<string, string | number | null> {
  return {
    scheme: uri.scheme,
    ...(uri.snmpVersion ? { 'snmp version': uri.snmpVersion } : {}),
    user: uri.user ?? null,
    ...(uri.password !== undefined ? { password: '***' } : {}),
    ...(uri.community !== undefined ? { community: '***' } : {}),
    ...(uri.auth ? { auth: uri.auth } : {}),
    ...(uri.priv ? { priv: uri.priv, 'priv password': '***' } : {}),
    host: uri.host ?? null,
    port: effectivePort(uri) ?? null,
    path: uri.path ?? null,
    uri: redactUri(uri),
  };
}

/**
 * THE redaction of platformd: hides every secret a text may hold, whether
 * or not it parses as a URI. Used for audit words, error messages, log lines
 * and output. In `scheme://userinfo@host`, the userinfo runs to the last "@"
 * (a mistyped password may hold "@", "%" or ":"): the user before the first
 * ":" stays, the rest becomes ***; an SNMP userinfo is all secret (v2c
 * community, v3 user:auth:password). Options such as --password=x too.
 * With `word`, the text is one word (which may hold spaces, when quoted).
 */
export function redactSecrets(text: string, options: { word?: boolean } = {}): string {
  const userinfo = options.word ? /([a-z][a-z0-9+.-]*):(\/*)([^]*)@/gi : /([a-z][a-z0-9+.-]*):(\/*)(\S*)@/gi;
  return text
    .replace(userinfo, (whole, scheme: string, slashes: string, info: string) => {
      if (scheme.toLowerCase() === 'snmp') return `${scheme}:${slashes}***@`;
      const colon = info.indexOf(':');
      return colon < 0 ? whole : `${scheme}:${slashes}${info.slice(0, colon)}:***@`;
    })
    .replace(/(--?(?:password|passwd|secret|community|passphrase|token)=)\S*/gi, '$1***');
}

/** Redacts secrets in any text, parsed or not (kept for the callers of the old name). */
export const redactText = (text: string): string => redactSecrets(text, { word: true });

/**
 * A parse error's message with every quoted piece of the input hidden
 * unless it lies wholly after the credentials (after the last "@"): parts
 * of a mistyped password never come back in an error.
 */
function hideCredentialsIn(message: string, input: string): string {
  const at = input.lastIndexOf('@');
  if (at < 0) return message;
  const afterCredentials = input.slice(at + 1);
  return redactSecrets(message.replace(/"([^"]*)"/g, (quoted, inner: string) => (inner !== '' && afterCredentials.includes(inner) ? quoted : '"***"')));
}

/** A URI argument: parsed by its scheme's grammar; secrets never reach the audit log. */
export function uriArg(hint = '<uri>', schemes: readonly Scheme[] = SCHEMES): ArgType<NetworkUri> {
  return {
    hint,
    parse(value) {
      let uri: NetworkUri;
      try {
        uri = parseUri(value);
      } catch (error) {
        if (error instanceof UriError) throw badInput('bad-uri', `${hint}: ${hideCredentialsIn(error.message, value)}`);
        throw error;
      }
      if (!schemes.includes(uri.scheme)) throw badInput('bad-uri', `${hint}: ${uri.scheme} URIs cannot be used here; use ${schemes.join(', ')}`);
      return uri;
    },
    redact: (text) => redactSecrets(text, { word: true }),
  };
}
