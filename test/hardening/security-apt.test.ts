// What reaches apt and what comes back from it is hostile: the source URI, the
// suite and components, the proxy (its password included) and every path are
// checked before root writes apt's configuration or the sources line (no
// new line, quote, ";", "#", brace or bracket can add an option or an
// entry); apt's answers are parsed with bounds (lines, their length, the
// count) and the grammars of package names and versions; a stored source or
// check that breaks its shape is store-invalid, never used.

import { describe, expect, it } from 'vitest';
import { APT_LIMITS, aptConf, aptProxy, packageChange, parseSimulatedUpgrade, sourcesLine, UPDATE_UNIT } from '../../updates/apt.js';
import { checkComponents, checkSourceUri, checkSuite } from '../../updates/source.js';
import { unitsFor } from '../../updates/restarts.js';
import { settingProblem } from '../../store/settings.js';
import { parseUri } from '../../net/uri.js';
import { PlatformError } from '../../core/errors.js';
import { APT_SAFE_VALUE } from '../../core/apt-grammar.js';

const KEY = Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n').toString('base64');
const FINGERPRINT = 'B527F8AAC05293BF9232CE8E4D582216EE0166E9';
const source = (overrides: Record<string, unknown> = {}) => ({ uri: 'https://updates.example.test/debian', suite: 'bookworm-security', components: ['main'], key: KEY, fingerprints: [FINGERPRINT], ...overrides });
const place = { root: '/', state: '/opt/platform/security' };

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PlatformError);
    return error as PlatformError;
  }
  throw new Error('not refused');
};

describe('the source URI, suite and components', () => {
  it('accepts http, https and file repositories in one written form', () => {
    expect(checkSourceUri('HTTPS://Updates.Example.TEST/debian')).toBe('https://updates.example.test/debian');
    expect(checkSourceUri('http://10.0.0.5:8080/debian-security')).toBe('http://10.0.0.5:8080/debian-security');
    expect(checkSourceUri('file:///media/usb/debian')).toBe('file:///media/usb/debian');
  });

  it('refuses other schemes, credentials and ".."', () => {
    for (const [uri, said] of [
      ['ftp://anonymous@mirror.example.test/debian', /cannot be a package source/],
      ['sftp://backup@mirror.example.test/debian', /cannot be a package source/],
      ['http://user:secret@mirror.example.test/debian', /holds no user or password/],
      ['file:///media/../etc', /must not contain/],
      ['http://mirror.example.test\nDir/debian', /not a valid host name/],
    ] as const) {
      const error = refusal(() => checkSourceUri(uri));
      expect(error.exitStatus, uri).toBe(2);
      expect(error.message, uri).toMatch(said);
      expect(error.message).not.toContain('secret');
    }
  });

  it('writes what would break a sources line percent-encoded, never raw', () => {
    for (const uri of ['http://mirror.example.test/deb ian', 'http://mirror.example.test/debian]', 'http://mirror.example.test/debian\ndeb http://evil.example.test/ x main', 'http://mirror.example.test/a"b', 'http://mirror.example.test/#x', 'file:///media/usb [trusted=yes]/x']) {
      const written = checkSourceUri(uri);
      expect(written, uri).toMatch(APT_SAFE_VALUE);
      expect(written, uri).toMatch(/%(20|5D|0A|22|23|5B)/);
    }
  });

  it('takes suites and components by their grammar only', () => {
    expect(checkSuite('bookworm-security')).toBe('bookworm-security');
    expect(checkComponents('main,contrib,main')).toEqual(['main', 'contrib']);
    for (const suite of ['', 'a b', 'x]', 'x\nDir "/"', '../x', 'a'.repeat(65), '-x']) expect(() => checkSuite(suite), suite).toThrow(/not a suite/);
    for (const components of ['', 'main,', 'main contrib', 'main;x', 'a/b/c', Array.from({ length: 17 }, (_, i) => `c${i}`).join(',')]) expect(() => checkComponents(components), components).toThrow(/not a comma-separated list/);
  });
});

describe("what root writes into apt's files", () => {
  it('is one sources line and one value per option', () => {
    expect(sourcesLine(source(), '/opt/platform/security/source-key.asc')).toBe('deb [signed-by=/opt/platform/security/source-key.asc] https://updates.example.test/debian bookworm-security main\n');
    const conf = aptConf(place, aptProxy(parseUri('http://squid:p%22a%3Bs%0As@10.0.0.5:3128')));
    // The password's quote, semicolon and new line stay percent-encoded: no option can be added.
    expect(conf).toContain('Acquire::http::Proxy "http://squid:p%22a%3Bs%0As@10.0.0.5:3128";');
    expect(conf.split('\n').filter(Boolean).every((line) => /^[A-Za-z:-]+ "[^"\n]*";$|^DPkg::Options \{ ("[^"\n]*"; )+\};$/.test(line))).toBe(true);
    expect(conf).toContain('Dir::Etc::parts "/opt/platform/security/empty";');
    expect(conf).toContain('Dir::Etc::sourceparts "/opt/platform/security/empty";');
    expect(conf).toContain('Dir::Etc::trustedparts "/opt/platform/security/empty";');
    expect(conf).not.toContain('--root');
  });

  it('names a SOCKS5 proxy socks5h (the proxy resolves names), and no proxy at all when direct', () => {
    expect(aptProxy(parseUri('socks5://u:p@10.0.0.5:1080'))).toBe('socks5h://u:p@10.0.0.5:1080');
    expect(aptConf(place, undefined)).not.toMatch(/Proxy/);
  });

  it('works in a test OS root through dpkg --root', () => {
    expect(aptConf({ root: '/tmp/os-root', state: '/tmp/home/security' }, undefined)).toMatch(/Dir "\/tmp\/os-root\/";[\s\S]*"--root=\/tmp\/os-root";/);
  });

  it("changes an appliance's packages outside platformd's sandbox (a transient unit), a test's OS root directly", () => {
    const env = { PATH: '/usr/bin:/bin', APT_CONFIG: '/opt/platform/security/apt.conf' };
    expect(packageChange(place, 'apt-get', ['-q', '-y', 'upgrade'], env)).toEqual([
      'systemd-run',
      ['--quiet', '--wait', '--pipe', '--collect', `--unit=${UPDATE_UNIT}`, `--property=RuntimeMaxSec=${APT_LIMITS.installMs / 1000}`, '--setenv=PATH=/usr/bin:/bin', '--setenv=APT_CONFIG=/opt/platform/security/apt.conf', 'apt-get', '-q', '-y', 'upgrade'],
    ]);
    expect(packageChange({ root: '/tmp/os-root', state: '/tmp/home/security' }, 'dpkg', ['--root=/tmp/os-root', '--configure', '-a'], env)).toEqual(['dpkg', ['--root=/tmp/os-root', '--configure', '-a']]);
  });

  it('refuses a value that could end the option or the line, whatever its way in (a stored row, a path)', () => {
    for (const bad of [source({ suite: 'stable\ndeb http://evil.example.test/ x main' }), source({ uri: 'http://x.example.test/a b' }), source({ components: ['main]'] })]) {
      expect(() => sourcesLine(bad as never, '/k.asc')).toThrow(/apt's configuration was not written/);
    }
    expect(() => sourcesLine(source() as never, '/opt/platform x/k.asc')).toThrow(/the key file path/);
    expect(() => aptConf({ root: '/', state: '/opt/plat"form' }, undefined)).toThrow(/apt's configuration was not written/);
    expect(() => aptConf(place, 'http://p:x";Dir "/@h:1')).toThrow(/apt's configuration was not written/);
  });
});

describe("apt's answers", () => {
  it('reads Inst lines: installed and candidate versions, new packages, multi-arch names', () => {
    const output = ['Reading package lists...', 'Inst libssl3 [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])', 'Inst libc6:i386 [2.36-9+deb12u4] (2.36-9+deb12u9 stable [i386])', 'Inst linux-image-6.1.0-28-amd64 (6.1.119-1 stable [amd64])', 'Conf libssl3 (3.0.15-1~deb12u1 stable [amd64])'].join('\n');
    expect(parseSimulatedUpgrade(output)).toEqual([
      { package: 'libssl3', installed: '3.0.11-1~deb12u2', candidate: '3.0.15-1~deb12u1' },
      { package: 'libc6:i386', installed: '2.36-9+deb12u4', candidate: '2.36-9+deb12u9' },
      { package: 'linux-image-6.1.0-28-amd64', installed: 'none', candidate: '6.1.119-1' },
    ]);
    expect(parseSimulatedUpgrade('0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n')).toEqual([]);
  });

  it('refuses an Inst line that is not a package update, rather than guess', () => {
    for (const line of ['Inst', 'Inst Evil [1.0] (2.0 x)', 'Inst a\x1b[2J [1.0] (2.0 x)', 'Inst pkg [1.0] 2.0', 'Inst pkg [not-a-version] (2.0 x)', 'Inst pkg [1.0] (2.0";rm x)', `Inst ${'a'.repeat(200)} [1.0] (2.0 x)`]) {
      const error = refusal(() => parseSimulatedUpgrade(`${line}\n`));
      expect(error.message, line).toMatch(/not a package update/);
      expect(error.message).not.toContain('\x1b');
    }
  });

  it('is bounded: lines, their length and the number of updates', () => {
    expect(() => parseSimulatedUpgrade('x\n'.repeat(APT_LIMITS.lines + 1))).toThrow(/more than 50000 lines/);
    expect(() => parseSimulatedUpgrade(`Inst pkg [1.0] (2.0 ${'x'.repeat(APT_LIMITS.lineChars)})`)).toThrow(/longer than 4096/);
    const many = Array.from({ length: APT_LIMITS.updates + 1 }, (_, i) => `Inst pkg${i} [1.0] (2.0 stable [all])`).join('\n');
    expect(() => parseSimulatedUpgrade(many)).toThrow(/more than 10000 updates/);
  });
});

describe('what the store keeps', () => {
  it('refuses a stored source or check that breaks its shape', () => {
    expect(settingProblem('security.source', JSON.stringify(source()))).toBeUndefined();
    for (const bad of [source({ suite: 'x\ny' }), source({ uri: 'ftp://a.example.test/' }), source({ uri: 'http://a.example.test/a"b' }), source({ key: 'not base64!' }), source({ fingerprints: ['XYZ'] }), source({ components: [] }), { ...source(), extra: 1 }]) {
      expect(settingProblem('security.source', JSON.stringify(bad)), JSON.stringify(bad)).toBeDefined();
    }
    const check = { at: '2026-12-02T07:00:00.000Z', source: 'https://updates.example.test/debian', updates: [{ package: 'libssl3', installed: '3.0.11-1', candidate: '3.0.15-1' }] };
    expect(settingProblem('security.lastCheck', JSON.stringify(check))).toBeUndefined();
    expect(settingProblem('security.lastCheck', JSON.stringify({ ...check, updates: [{ package: 'LIBSSL\x1b', installed: '1', candidate: '2' }] }))).toBeDefined();
    expect(settingProblem('security.lastCheck', JSON.stringify({ ...check, updates: Array.from({ length: 10_001 }, () => check.updates[0]) }))).toBeDefined();
  });
});

describe('the restart table', () => {
  it('restarts each unit once, platformd last, and nothing for a package it does not name', () => {
    expect(unitsFor(['platform-demo'])).toEqual([]);
    expect(unitsFor(['openssh-server'])).toEqual(['ssh']);
    expect(unitsFor(['snmpd', 'nginx-light'])).toEqual(['nginx', 'platform-snmpd']);
    expect(unitsFor(['libssl3:amd64', 'chrony'])).toEqual(['chrony', 'nginx', 'platform-snmpd', 'ssh', 'platformd']);
    expect(unitsFor(['libc6']).at(-1)).toBe('platformd');
  });
});
