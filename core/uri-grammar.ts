// The grammar of network URIs (net/uri.ts says which schemes and shapes):
// pure parsing with no floor above core, so that the store can check a
// URI it reads back (store/rows.ts) with the same rules the commands apply.

import { isIP } from 'node:net';
import { isHostname } from './grammar.js';
import { SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS } from './snmp-protocols.js';

export const SCHEMES = ['ftp', 'http', 'https', 'file', 'sftp', 'scp', 'mailto', 'snmp', 'socks5'] as const;
export type Scheme = (typeof SCHEMES)[number];

export interface NetworkUri {
  scheme: Scheme;
  user?: string;
  /** ftp/http/sftp password, or the SNMP v3 authentication password. */
  password?: string;
  /** SNMP v2c community (a secret too). */
  community?: string;
  /** SNMP v3 authentication protocol. */
  auth?: string;
  /** SNMP v3 privacy protocol and password (authPriv); absent for authNoPriv. */
  priv?: string;
  privPassword?: string;
  host?: string;
  port?: number;
  path?: string;
  snmpVersion?: 'v2c' | 'v3';
}

export class UriError extends Error {
  readonly part: string;
  constructor(part: string, message: string) {
    super(`${part}: ${message}`);
    this.part = part;
  }
}

const decode = (text: string, part: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UriError(part, `bad percent-encoding in "${text}"`);
  }
};

function parseHost(text: string): string {
  if (text === '') throw new UriError('host', 'missing');
  if (text.startsWith('[')) {
    if (!text.endsWith(']') || isIP(text.slice(1, -1)) !== 6) throw new UriError('host', `"${text}" is not an IPv6 address in brackets`);
    return text.slice(1, -1).toLowerCase();
  }
  if (isIP(text) === 4) return text;
  if (!isHostname(text)) throw new UriError('host', `"${text}" is not a valid host name or address`);
  return text.toLowerCase();
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UriError('port', `"${text}" is not a port number 1-65535`);
  return Number(text);
}

/** Splits `host[:port]`, minding IPv6 brackets. */
function splitHostPort(text: string): { host: string; port?: number } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(text);
  if (!match) throw new UriError('host', `"${text}" is not host[:port]`);
  return { host: parseHost(match[1]!), port: parsePort(match[2]) };
}

function splitUserinfo(authority: string): { userinfo?: string; hostPort: string } {
  const at = authority.lastIndexOf('@');
  return at < 0 ? { hostPort: authority } : { userinfo: authority.slice(0, at), hostPort: authority.slice(at + 1) };
}

function parseUser(text: string, part = 'user'): string {
  const user = decode(text, part);
  if (user === '') throw new UriError(part, 'missing');
  if (/[\s\x00-\x1f]/.test(user)) throw new UriError(part, 'must not hold spaces or control characters');
  return user;
}

export function parseUri(text: string): NetworkUri {
  const trimmed = text.trim();
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed);
  if (!schemeMatch) throw new UriError('scheme', `missing; a URI starts with one of ${SCHEMES.join(', ')}`);
  const scheme = schemeMatch[1]!.toLowerCase() as Scheme;
  if (!SCHEMES.includes(scheme)) throw new UriError('scheme', `"${schemeMatch[1]}" is not one of ${SCHEMES.join(', ')}`);
  const rest = trimmed.slice(schemeMatch[0].length);

  if (scheme === 'mailto') {
    const at = rest.lastIndexOf('@');
    if (at <= 0) throw new UriError('address', `"${rest}" is not user@host`);
    // An address has no password: a ":" before the "@" is one typed by mistake, never kept or echoed.
    if (rest.slice(0, at).includes(':')) throw new UriError('address', 'a mail address holds no password: mailto:user@host');
    return { scheme, user: parseUser(rest.slice(0, at)), host: parseHost(rest.slice(at + 1)) };
  }
  if (!rest.startsWith('//')) throw new UriError('scheme', `${scheme} URIs start with ${scheme}://`);
  const body = rest.slice(2);

  if (scheme === 'file') {
    if (!body.startsWith('/')) throw new UriError('path', 'file URIs hold an absolute path: file:///path/to/folder');
    const path = decode(body, 'path');
    if (path.split('/').includes('..')) throw new UriError('path', 'must not contain ".."');
    return { scheme, path };
  }

  if (scheme === 'scp') {
    // scp://[user@]host[:port]:[/path] — the last ":" before the path ends the authority.
    const match = /^(?:([^@/]*)@)?(\[[^\]]*\]|[^:/@]+)(?::(\d*))?:(\/.*)?$/.exec(body);
    if (!match) throw new UriError('authority', `"${body}" is not [user@]host[:port]:[/path] (note the ":" before the path)`);
    // scp's grammar has no password: a ":" in the user would be one, kept and echoed as a user name.
    if (match[1]?.includes(':')) throw new UriError('user', 'scp URIs hold no password: scp://[user@]host[:port]:[/path]; the node logs in with its key (see "keys send")');
    return {
      scheme,
      user: match[1] !== undefined ? parseUser(match[1]) : undefined,
      host: parseHost(match[2]!),
      port: parsePort(match[3] || undefined),
      path: match[4] !== undefined ? decode(match[4], 'path') : undefined,
    };
  }

  const slash = body.indexOf('/');
  const authority = slash < 0 ? body : body.slice(0, slash);
  const path = slash < 0 ? undefined : decode(body.slice(slash), 'path');
  const { userinfo, hostPort } = splitUserinfo(authority);
  const { host, port } = splitHostPort(hostPort);

  if (scheme === 'snmp') {
    if (path !== undefined && path !== '/') throw new UriError('path', 'SNMP URIs have no path');
    if (userinfo === undefined) throw new UriError('community', 'missing: snmp://community@host (v2c) or snmp://user:auth:password@host (v3)');
    const parts = userinfo.split(':');
    if (parts.length === 1) return { scheme, snmpVersion: 'v2c', community: parseUser(parts[0]!, 'community'), host, port };
    if (parts.length !== 3 && parts.length !== 5) throw new UriError('userinfo', 'SNMP v3 is user:auth:password, or user:auth:password:priv:privpassword (for example snmp://monitor:SHA:secret123@host)');
    const auth = decode(parts[1]!, 'auth').toUpperCase();
    if (!(SNMP_AUTH_PROTOCOLS as readonly string[]).includes(auth)) throw new UriError('auth', `"${parts[1]}" is not one of ${SNMP_AUTH_PROTOCOLS.join(', ')}`);
    const password = decode(parts[2]!, 'password');
    if (password.length < 8) throw new UriError('password', 'SNMP v3 passwords have at least 8 characters');
    if (parts.length === 5) {
      const priv = decode(parts[3]!, 'priv').toUpperCase();
      if (!(SNMP_PRIV_PROTOCOLS as readonly string[]).includes(priv)) throw new UriError('priv', `"${parts[3]}" is not one of ${SNMP_PRIV_PROTOCOLS.join(', ')}`);
      const privPassword = decode(parts[4]!, 'privpassword');
      if (privPassword.length < 8) throw new UriError('privpassword', 'SNMP v3 passwords have at least 8 characters');
      return { scheme, snmpVersion: 'v3', user: parseUser(parts[0]!), auth, password, priv, privPassword, host, port };
    }
    return { scheme, snmpVersion: 'v3', user: parseUser(parts[0]!), auth, password, host, port };
  }

  let user: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    user = parseUser(colon < 0 ? userinfo : userinfo.slice(0, colon));
    password = colon < 0 ? undefined : decode(userinfo.slice(colon + 1), 'password');
  }
  if ((scheme === 'ftp' || scheme === 'sftp') && user === undefined) throw new UriError('user', `missing: ${scheme}://user[:password]@host[:port][/path]`);
  return { scheme, user, password, host, port, path };
}
