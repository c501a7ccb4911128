// Property-based tests (fast-check) of the parsers every typed word goes
// through: network URIs (net/uri.ts), command lines (commands/tree.ts) and
// addresses and networks (firewall/compiler.ts parseNetwork, the argument
// types). Whatever the input: no exception but the parser's own, a round
// trip that is stable, and no secret in any output or error, over thousands
// of generated URIs.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { describeUri, formatUri, parseUri, redactSecrets, redactUri, uriArg, UriError, SCHEMES } from '../../net/uri.js';
import { buildTree, parse, splitWords } from '../../commands/tree.js';
import { groups } from '../../commands/index.js';
import { PlatformError } from '../../core/errors.js';
import { host, ipAddress } from '../../core/argtypes.js';
import { FirewallInputError, parseNetwork } from '../../firewall/compiler.js';

const RUNS = 4000;
const anyText = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(...SCHEMES).chain((s) => fc.string({ maxLength: 60 }).map((rest) => `${s}://${rest}`)));

describe('the URI parser', () => {
  it('throws nothing but UriError, whatever the text', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        try {
          parseUri(text);
        } catch (error) {
          expect(error).toBeInstanceOf(UriError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  const label = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
  const hostName = fc.oneof(fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.')), fc.ipV4(), fc.ipV6().map((a) => `[${a}]`));
  const user = fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/);
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
  const path = fc.option(fc.array(fc.stringMatching(/^[A-Za-z0-9._ -]{1,8}$/), { minLength: 1, maxLength: 3 }).map((p) => `/${p.join('/')}`), { nil: undefined });
  const password = fc.string({ minLength: 8, maxLength: 20 });
  const validUri = fc.oneof(
    fc.record({ scheme: fc.constantFrom('ftp', 'sftp', 'http', 'https'), user, password: fc.option(password, { nil: undefined }), host: hostName, port, path }),
    fc.record({ scheme: fc.constant('scp'), user: fc.option(user, { nil: undefined }), host: hostName, port, path }),
    fc.record({ scheme: fc.constant('snmp'), community: fc.stringMatching(/^[!-~]{1,20}$/), host: hostName, port }),
    fc.record({ scheme: fc.constant('file'), path: fc.array(fc.stringMatching(/^[A-Za-z0-9_ -]{1,8}$/), { minLength: 1, maxLength: 3 }).map((p) => `/${p.join('/')}`) }),
  );

  it('formats back what it parses, and parses what it formats, stably', () => {
    fc.assert(
      fc.property(validUri, (parts) => {
        const text = formatUri({ ...parts, host: (parts as { host?: string }).host?.replace(/^\[(.*)\]$/, '$1'), snmpVersion: parts.scheme === 'snmp' ? 'v2c' : undefined } as never);
        const once = formatUri(parseUri(text));
        expect(once).toBe(text);
        expect(formatUri(parseUri(once))).toBe(once);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(anyText, (text) => {
        let parsed;
        try {
          parsed = parseUri(text);
        } catch {
          return;
        }
        const formatted = formatUri(parsed);
        expect(formatUri(parseUri(formatted))).toBe(formatted);
      }),
      { numRuns: RUNS },
    );
  });

  // A password that holds a marker found nowhere else ("Qx7": users and hosts
  // here are lower case), and any of the characters that break URIs.
  const marked = fc.string({ maxLength: 12, unit: fc.constantFrom(...'ab9%@:/ #?Z'.split(''), 'é') }).map((rest) => `Qx7${rest}`);
  // A free-form host may hold anything but the marker itself (a host is shown, and one spelled "Qx7" is no leak).
  const anyHost = fc.oneof(hostName, fc.string({ maxLength: 10 }).filter((host) => !host.includes('Qx7')));
  const attempt = fc.oneof(
    fc.tuple(fc.constantFrom('ftp', 'sftp', 'http', 'https', 'scp'), user, marked, anyHost, fc.constantFrom('', ':21', ':99999', ':x', ':/p', '/p')).map(([s, u, pw, h, tail]) => `${s}://${u}:${pw}@${h}${tail}`),
    fc.tuple(marked, anyHost).map(([pw, h]) => `snmp://${pw}@${h}`),
    fc.tuple(user, fc.constantFrom('SHA', 'MD5', 'XXX'), marked, hostName).map(([u, a, pw, h]) => `snmp://${u}:${a}:${pw}@${h}`),
  );

  it('never shows a password, community or v3 password: not in a result, an audit word, or an error', () => {
    const arg = uriArg();
    fc.assert(
      fc.property(attempt, (text) => {
        expect(redactSecrets(text, { word: true })).not.toContain('Qx7');
        expect(arg.redact!(text)).not.toContain('Qx7');
        try {
          const uri = arg.parse(text);
          expect(redactUri(uri)).not.toContain('Qx7');
          expect(JSON.stringify(describeUri(uri))).not.toContain('Qx7');
        } catch (error) {
          expect(error).toBeInstanceOf(PlatformError);
          expect((error as Error).message).not.toContain('Qx7');
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the command parser', () => {
  const tree = buildTree(groups);
  const quote = (word: string) => `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

  it('splits any line into words or refuses it with its own error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (line) => {
        try {
          const words = splitWords(line);
          for (const w of words) expect(typeof w).toBe('string');
        } catch (error) {
          expect(error).toBeInstanceOf(PlatformError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('gives back the words it was given, quoted (a stable round trip)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }), (words) => {
        expect(splitWords(words.map(quote).join(' '))).toEqual(words);
      }),
      { numRuns: RUNS },
    );
  });

  it('parses any words against the tree, or refuses them with a PlatformError (never a crash)', () => {
    const word = fc.oneof(fc.constantFrom('web', 'cert', 'add', 'backup', 'del', 'system', 'info', 'notify', 'firewall', 'user', '--yes', '--json', '--commonName', 'x', '-'), fc.string({ maxLength: 10 }));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 6 }), (words) => {
        try {
          const parsed = parse(tree, words);
          expect(['command', 'group']).toContain(parsed.kind);
        } catch (error) {
          expect(error).toBeInstanceOf(PlatformError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the address parsers', () => {
  const network = fc.oneof(
    fc.tuple(fc.ipV4(), fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined })).map(([a, p]) => (p === undefined ? a : `${a}/${p}`)),
    fc.tuple(fc.ipV6(), fc.option(fc.integer({ min: 0, max: 128 }), { nil: undefined })).map(([a, p]) => (p === undefined ? a : `${a}/${p}`)),
  );

  it('refuses anything with their own errors only', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 50 }), network.map((n) => `${n}x`), network.map((n) => `${n}/1/2`)), (text) => {
        for (const parser of [() => parseNetwork(text)]) {
          try {
            parser();
          } catch (error) {
            expect(error).toBeInstanceOf(FirewallInputError);
          }
        }
        for (const type of [ipAddress(), host()]) {
          try {
            type.parse(text);
          } catch (error) {
            expect(error).toBeInstanceOf(PlatformError);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips every address and network it accepts', () => {
    fc.assert(
      fc.property(network, (text) => {
        const once = parseNetwork(text);
        expect(parseNetwork(once.text)).toEqual(once);
        const bare = text.split('/')[0]!;
        expect(ipAddress().parse(ipAddress().parse(bare))).toBe(ipAddress().parse(bare));
      }),
      { numRuns: RUNS },
    );
  });
});
