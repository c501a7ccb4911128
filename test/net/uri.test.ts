import { describe, expect, it } from 'vitest';
import { formatUri, parseUri, redactText, redactUri, UriError, type NetworkUri } from '../../net/uri.js';

// Valid forms of every scheme: the text, what it parses to, and its canonical form.
const valid: [string, Partial<NetworkUri>, string?][] = [
  ['ftp://dan:pw@files.example.com/backups', { scheme: 'ftp', user: 'dan', password: 'pw', host: 'files.example.com', path: '/backups' }],
  ['ftp://dan@10.0.0.5:2121', { scheme: 'ftp', user: 'dan', host: '10.0.0.5', port: 2121 }],
  ['http://proxy.example.com:3128', { scheme: 'http', host: 'proxy.example.com', port: 3128 }],
  ['https://user:p%40ss%3Aword@dl.example.com/x.iso', { scheme: 'https', user: 'user', password: 'p@ss:word', host: 'dl.example.com', path: '/x.iso' }],
  ['HTTPS://DL.Example.COM/Path', { scheme: 'https', host: 'dl.example.com', path: '/Path' }, 'https://dl.example.com/Path'],
  ['file:///opt/platform/media/backups', { scheme: 'file', path: '/opt/platform/media/backups' }],
  ['sftp://dan@1.2.3.4/sftp', { scheme: 'sftp', user: 'dan', host: '1.2.3.4', path: '/sftp' }],
  ['sftp://acct.local:secret@[fd00::7]:2222/in/box', { scheme: 'sftp', user: 'acct.local', password: 'secret', host: 'fd00::7', port: 2222, path: '/in/box' }],
  ['scp://backup.example.com:/var/backups', { scheme: 'scp', host: 'backup.example.com', path: '/var/backups' }],
  ['scp://dan@[::1]:2200:/x', { scheme: 'scp', user: 'dan', host: '::1', port: 2200, path: '/x' }],
  ['scp://dan@host1:', { scheme: 'scp', user: 'dan', host: 'host1' }],
  ['mailto:ops@example.com', { scheme: 'mailto', user: 'ops', host: 'example.com' }],
  ['snmp://public@mysnmpserver.com', { scheme: 'snmp', snmpVersion: 'v2c', community: 'public', host: 'mysnmpserver.com' }],
  ['snmp://monitor:sha:secret123@10.1.1.1:1162', { scheme: 'snmp', snmpVersion: 'v3', user: 'monitor', auth: 'SHA', password: 'secret123', host: '10.1.1.1', port: 1162 }, 'snmp://monitor:SHA:secret123@10.1.1.1:1162'],
  ['https://host/a%20b/c', { scheme: 'https', host: 'host', path: '/a b/c' }],
];

// Invalid forms, each with the part its message must name.
const invalid: [string, string][] = [
  ['', 'scheme'],
  ['gopher://host/', 'scheme'],
  ['sftp:host/path', 'scheme'],
  ['ftp://host/path', 'user'],
  ['sftp://@host', 'user'],
  ['sftp://dan@', 'host'],
  ['https://dan@exa mple.com/', 'host'],
  ['https://host_name.example/', 'host'],
  ['https://[fd00::zz]/', 'host'],
  ['https://host:0/', 'port'],
  ['https://host:70000/', 'port'],
  ['https://host:12ab/', 'port'],
  ['https://host/%zz', 'path'],
  ['file://relative/path', 'path'],
  ['file:///opt/../etc', 'path'],
  ['scp://host:22', 'authority'],
  ['mailto:nobody', 'address'],
  ['mailto:@example.com', 'address'],
  ['snmp://host', 'community'],
  ['snmp://a:b@host', 'userinfo'],
  ['snmp://u:RC4:secret123@host', 'auth'],
  ['snmp://u:SHA:short@host', 'password'],
  ['snmp://public@host/path', 'path'],
];

describe('network URIs', () => {
  for (const [text, expected, canonical] of valid) {
    it(`parses ${text} and formats it back`, () => {
      const uri = parseUri(text);
      expect(uri).toMatchObject(expected);
      const formatted = formatUri(uri);
      expect(formatted).toBe(canonical ?? text);
      expect(parseUri(formatted)).toEqual(uri); // round trip
    });
  }

  for (const [text, part] of invalid) {
    it(`refuses ${JSON.stringify(text)} naming the ${part}`, () => {
      let error: unknown;
      try {
        parseUri(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UriError);
      expect((error as UriError).part).toBe(part);
      expect((error as UriError).message.startsWith(`${part}: `)).toBe(true);
    });
  }

  it('never shows a password or a community', () => {
    const secrets = ['pw', 'p@ss:word', 'secret', 'public', 'secret123'];
    for (const [text] of valid) {
      const shown = redactUri(parseUri(text));
      for (const secret of secrets) {
        if (text.includes(`:${encodeURIComponent(secret)}@`) || text.includes(`//${secret}@`) || text.includes(`:${secret}@`)) {
          expect(shown, text).not.toContain(secret === 'public' ? 'public@' : `:${secret}@`);
        }
      }
    }
    expect(redactUri(parseUri('snmp://public@host'))).toBe('snmp://***@host');
    expect(redactUri(parseUri('sftp://dan:hunter2@host/x'))).toBe('sftp://dan:***@host/x');
    expect(redactText('sftp://dan:hunter2@ho st/x')).toBe('sftp://dan:***@ho st/x'); // even when it does not parse
  });
});

describe('address-range conflicts', async () => {
  const { checkSubnets, overlaps } = await import('../../net/subnets.js');
  it('finds overlaps with reserved ranges, between interfaces, and bad gateways', () => {
    expect(overlaps('10.0.0.0/8', '10.250.1.0/24')).toBe(true);
    expect(overlaps('10.0.0.0/16', '10.1.0.0/16')).toBe(false);
    expect(overlaps('fd00::/64', '10.0.0.0/8')).toBe(false);
    const findings = checkSubnets(
      [
        { iface: 'eth0', cidr: '172.17.5.4/24' },
        { iface: 'eth1', cidr: '192.0.2.10/24' },
        { iface: 'eth2', cidr: '192.0.2.77/25' },
      ],
      ['169.254.1.1', '192.0.2.1'],
    );
    const bad = findings.filter((f) => !f.ok).map((f) => f.subject);
    expect(bad).toEqual(['eth0 172.17.5.4/24', 'eth1 192.0.2.10/24 / eth2 192.0.2.77/25', 'gateway 169.254.1.1']);
    expect(findings.find((f) => f.subject === 'gateway 192.0.2.1')?.finding).toBe('on a local network');
  });
});

describe('snmp v3 authPriv URIs', () => {
  it('take a privacy protocol and password after the authentication ones, shown as ***', () => {
    const uri = parseUri('snmp://bob:sha-256:Secret-auth1:aes:Secret-priv1@nms.example.test:1162');
    expect(uri).toMatchObject({ snmpVersion: 'v3', user: 'bob', auth: 'SHA-256', password: 'Secret-auth1', priv: 'AES', privPassword: 'Secret-priv1', port: 1162 });
    expect(formatUri(uri)).toBe('snmp://bob:SHA-256:Secret-auth1:AES:Secret-priv1@nms.example.test:1162');
    expect(formatUri(uri, { redact: true })).toBe('snmp://bob:SHA-256:***:AES:***@nms.example.test:1162');
    expect(() => parseUri('snmp://bob:SHA:Secret-auth1:3DES:Secret-priv1@nms')).toThrow(/priv/);
    expect(() => parseUri('snmp://bob:SHA:Secret-auth1:AES:short@nms')).toThrow(/8 characters/);
    expect(() => parseUri('snmp://bob:SHA:Secret-auth1:AES@nms')).toThrow(/user:auth:password/);
  });
});
