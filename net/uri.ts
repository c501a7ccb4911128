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
//   socks5://[user[:password]@]host[:port]       (a SOCKS5 proxy: network proxy)
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
  socks5: defaultPort('socks'),
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

/** Counts the characters a redaction looked at: the hardening tests prove it linear by this, not by timing. */
export interface ScanMeter {
  steps: number;
}

/** Schemes whose authority is a URI's own (user, password, host, port); file has none. */
const AUTHORITY_SCHEMES: ReadonlySet<string> = new Set(SCHEMES.filter((s) => s !== 'file'));
const LONGEST_SCHEME = Math.max(...SCHEMES.map((s) => s.length));
/** Options whose value is a secret, as `--name=value` (or `-name=value`). */
const SECRET_OPTIONS = ['password', 'passwd', 'secret', 'community', 'passphrase', 'token'];
const HIDDEN = '***';

const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** What a scheme is made of after its first letter: letters, digits, "+", ".", "-". */
const isSchemeChar = (c: number) => isLetter(c) || isDigit(c) || c === 0x2b || c === 0x2e || c === 0x2d;
/** JavaScript's white space (what \s matches), tested one character at a time. */
const isSpace = (c: number) =>
  (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;

/** A port as typed: 1-5 digits, with scp's ":" before its path; anything else there may be a mistyped password. */
function looksLikePort(text: string, from: number, to: number): boolean {
  if (to > from && text.charCodeAt(to - 1) === 0x3a) to--;
  if (to - from > 5) return false;
  for (let i = from; i < to; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/**
 * THE redaction of platformd: hides every secret a text may hold, whether
 * or not it parses as a URI. Used for audit words, error messages, log lines
 * and output, before a caller is proven too: one forward scan, linear in the
 * text whatever it holds (no regular expression that backtracks).
 *
 * In `scheme://userinfo@host`, the userinfo runs to the last "@" of the word
 * (a mistyped password may hold "@", "%" or ":"): the user before the first
 * ":" stays, the rest becomes ***; an SNMP userinfo is all secret (v2c
 * community, v3 user:auth:password). For the product's own schemes a URI
 * that does not parse cleanly gives nothing away either: what sits where a
 * port belongs but is no port, a user's ":" part without an "@", and an SNMP
 * authority without "@" (a community) become ***. Options such as
 * --password=x too. With `word`, the text is one word (which may hold spaces,
 * when quoted).
 */
export function redactSecrets(text: string, options: { word?: boolean; meter?: ScanMeter } = {}): string {
  const meter = options.meter ?? { steps: 0 };
  return redactOptions(redactUserinfo(text, options.word ?? false, meter), meter);
}

function redactUserinfo(text: string, word: boolean, meter: ScanMeter): string {
  const n = text.length;
  const out: string[] = [];
  let copied = 0;
  const hide = (from: number, to: number) => {
    out.push(text.slice(copied, from), HIDDEN);
    copied = to;
  };
  // The run of non-space characters the scan is in (a word: the whole text), and its last "@": found once per run.
  let runEnd = -1;
  let lastAt = -1;
  const enterRun = (at: number) => {
    if (at < runEnd) return;
    if (word) {
      runEnd = n;
      lastAt = text.lastIndexOf('@');
      meter.steps += n;
      return;
    }
    lastAt = -1;
    for (runEnd = at; runEnd < n && !isSpace(text.charCodeAt(runEnd)); runEnd++) if (text.charCodeAt(runEnd) === 0x40) lastAt = runEnd;
    meter.steps += runEnd - at;
  };
  /** Where a host[:port] starting at `from` ends: at "/" or white space (or the run's end). */
  const hostEnd = (from: number) => {
    let i = from;
    while (i < runEnd && text.charCodeAt(i) !== 0x2f && !isSpace(text.charCodeAt(i))) i++;
    meter.steps += i - from;
    return i;
  };
  /** Hides what follows host: in [from, to) unless it is a port. */
  const checkPort = (from: number, to: number) => {
    let i = from;
    if (text.charCodeAt(i) === 0x5b) while (i < to && text.charCodeAt(i) !== 0x5d) i++; // [IPv6]
    while (i < to && text.charCodeAt(i) !== 0x3a) i++;
    meter.steps += i - from;
    if (i < to && !looksLikePort(text, i + 1, to)) hide(i + 1, to);
  };

  let schemeStart = -1;
  for (let i = 0; i < n; i++) {
    meter.steps++;
    const c = text.charCodeAt(i);
    if (isSchemeChar(c)) {
      if (schemeStart < 0 && isLetter(c)) schemeStart = i;
      continue;
    }
    if (c !== 0x3a || schemeStart < 0) {
      schemeStart = -1;
      continue;
    }
    // Only a scheme as short as the product's own (or snmp) needs its name: longer ones are never sliced.
    const lower = i - schemeStart <= LONGEST_SCHEME ? text.slice(schemeStart, i).toLowerCase() : '';
    schemeStart = -1;
    enterRun(i);
    let slashesEnd = i + 1;
    while (slashesEnd < n && text.charCodeAt(slashesEnd) === 0x2f) slashesEnd++;
    meter.steps += slashesEnd - i - 1;
    const own = AUTHORITY_SCHEMES.has(lower);
    if (lastAt > i) {
      // scheme:[//]userinfo@ — the userinfo runs to the run's last "@".
      if (lower === 'snmp') hide(slashesEnd, lastAt);
      else {
        let colon = slashesEnd;
        while (colon < lastAt && text.charCodeAt(colon) !== 0x3a) colon++;
        meter.steps += colon - slashesEnd;
        if (colon < lastAt) hide(colon + 1, lastAt);
      }
      if (!own) {
        i = lastAt;
        continue;
      }
      const end = hostEnd(lastAt + 1);
      checkPort(lastAt + 1, end);
      i = end - 1;
    } else if (own) {
      // No "@" follows: the authority may still hold a user's password, or an SNMP community.
      const end = hostEnd(slashesEnd);
      if (lower === 'snmp' && end > slashesEnd) hide(slashesEnd, end);
      else checkPort(slashesEnd, end);
      i = end - 1;
    }
  }
  out.push(text.slice(copied));
  return out.join('');
}

/** Whether `text` holds `lower` at `at`, ignoring the case of ASCII letters. */
function startsWithLower(text: string, at: number, lower: string, meter: ScanMeter): boolean {
  for (let k = 0; k < lower.length; k++) {
    meter.steps++;
    if ((text.charCodeAt(at + k) | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** `--password=x` and its kind: the value (to the next white space) becomes ***. */
function redactOptions(text: string, meter: ScanMeter): string {
  const out: string[] = [];
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    meter.steps++;
    if (text.charCodeAt(i) !== 0x2d) continue;
    const nameStart = text.charCodeAt(i + 1) === 0x2d ? i + 2 : i + 1;
    let name: string | undefined;
    for (const option of SECRET_OPTIONS) if (startsWithLower(text, nameStart, option, meter) && text.charCodeAt(nameStart + option.length) === 0x3d) name = option;
    if (!name) continue;
    const valueStart = nameStart + name.length + 1;
    let valueEnd = valueStart;
    while (valueEnd < text.length && !isSpace(text.charCodeAt(valueEnd))) valueEnd++;
    meter.steps += valueEnd - valueStart;
    out.push(text.slice(copied, valueStart), HIDDEN);
    copied = valueEnd;
    i = valueEnd - 1;
  }
  out.push(text.slice(copied));
  return out.join('');
}

/** Redacts secrets in any text, parsed or not (kept for the callers of the old name). */
export const redactText = (text: string): string => redactSecrets(text, { word: true });

/**
 * A parse error's message with every quoted piece of the input hidden
 * unless it lies wholly in what the redacted input shows after its
 * credentials (after the last "@"; without one, the redacted whole): parts
 * of a mistyped password never come back in an error, wherever the parser
 * met them (a port, a mailto address).
 */
function hideCredentialsIn(message: string, input: string): string {
  const redacted = redactSecrets(input, { word: true });
  const shown = redacted.slice(redacted.lastIndexOf('@') + 1);
  return redactSecrets(message.replace(/"([^"]*)"/g, (quoted, inner: string) => (inner !== '' && !inner.includes(HIDDEN) && shown.includes(inner) ? quoted : `"${HIDDEN}"`)));
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
