// Work before a caller is proven is linear: the redaction every request's
// words go through (net/uri.ts redactSecrets, before the token is checked)
// looks at each character a bounded number of times, whatever the words
// hold. Proven by counting the characters it looks at (its meter), never by
// timing: long runs of "a", "@", ":", "/" and their mixtures, in a word and
// in free text. A backtracking expression took ~340 ms on a 4,000-character
// word of "a" and grew with the square of the length.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { redactSecrets, type ScanMeter } from '../../net/uri.js';

/** Characters looked at per character of input, at most (two passes, each looking a few times). */
const STEPS_PER_CHAR = 12;

const work = (text: string, word: boolean) => {
  const meter: ScanMeter = { steps: 0 };
  redactSecrets(text, { word, meter });
  return meter.steps;
};

/** Pieces that make a redaction look back, look ahead, or start over: schemes, separators, options. */
const PIECES = ['a', '@', ':', '/', 'a:', 'a@', ':@', '//', 'ftp://', 'snmp://', 'mailto:', 'x:', 'u:p', '[', ']', '%', '-', '--password=', '--token', ' ', '\t', '9'];

/** A pathological text: a few pieces, each repeated a long time, in any order. */
const pathological = fc
  .array(fc.tuple(fc.constantFrom(...PIECES), fc.integer({ min: 1, max: 4000 })), { minLength: 1, maxLength: 5 })
  .map((runs) => runs.map(([piece, times]) => piece.repeat(times)).join(''));

describe('redaction before the token check', () => {
  it('is linear on long runs of one character or piece (a, @, :, /, scheme:, --password=)', () => {
    for (const piece of PIECES) {
      for (const word of [true, false]) {
        const small = work(piece.repeat(Math.ceil(8_000 / piece.length)), word);
        const large = work(piece.repeat(Math.ceil(64_000 / piece.length)), word);
        expect(large, `${JSON.stringify(piece)} x many, word=${word}`).toBeLessThanOrEqual(STEPS_PER_CHAR * 64_000 + 100);
        // Eight times the input, about eight times the work (quadratic would be 64 times).
        expect(large / Math.max(small, 1), `${JSON.stringify(piece)} x many, word=${word}`).toBeLessThan(9);
      }
    }
  });

  it('looks at each character a bounded number of times whatever the mixture', () => {
    fc.assert(
      fc.property(pathological, fc.boolean(), (text, word) => {
        const steps = work(text, word);
        expect(steps).toBeGreaterThanOrEqual(text.length); // the meter counts the scan: every character is looked at
        expect(steps).toBeLessThanOrEqual(STEPS_PER_CHAR * text.length + 100);
      }),
      { numRuns: 300 },
    );
  });

  it('the 4,000-character word of the report, and 15 of them in one request, cost a few steps a character', () => {
    const words = Array.from({ length: 15 }, () => 'a'.repeat(4000));
    const steps = words.reduce((sum, w) => sum + work(w, true), 0);
    expect(steps).toBeLessThanOrEqual(STEPS_PER_CHAR * 60_000);
  });
});

/**
 * The expression the scan replaces, as it was, for texts where only its rules
 * apply (no scheme of the product's own, so none of the newer port and
 * no-"@" rules): the scan must give exactly what it gave.
 */
function previousRedaction(text: string, word: boolean): string {
  const userinfo = word ? /([a-z][a-z0-9+.-]*):(\/*)([^]*)@/gi : /([a-z][a-z0-9+.-]*):(\/*)(\S*)@/gi;
  return text
    .replace(userinfo, (whole, scheme: string, slashes: string, info: string) => {
      if (scheme.toLowerCase() === 'snmp') return `${scheme}:${slashes}***@`;
      const colon = info.indexOf(':');
      return colon < 0 ? whole : `${scheme}:${slashes}${info.slice(0, colon)}:***@`;
    })
    .replace(/(--?(?:password|passwd|secret|community|passphrase|token)=)\S*/gi, '$1***');
}

describe('the same results as before on what the old rules covered', () => {
  // Letters that spell no scheme of the product (ftp, http, sftp, scp, snmp, mailto, file) and no option name.
  const ordinary = fc
    .array(fc.oneof(fc.constantFrom('a', 'B', 'x', '1', '+', '.', '-', ':', '@', '/', ' ', '%', 'é', 'gx:', 'ab://', 'x:y@', 'SNMX:'), fc.constantFrom('--password=', '-TOKEN=', '--secret=', 'git://u:p@h', 'ldap://a:b@c d')), { maxLength: 40 })
    .map((parts) => parts.join(''));

  it('gives what the expression gave, in a word and in text', () => {
    fc.assert(
      fc.property(ordinary, fc.boolean(), (text, word) => {
        expect(redactSecrets(text, { word })).toBe(previousRedaction(text, word));
      }),
      { numRuns: 2000 },
    );
  });

  it('hides what the old rules missed in a URI of its own schemes that does not parse (issue 22)', () => {
    const cases: [string, string][] = [
      ['ftp://user:s3cret', 'ftp://user:***'],
      ['sftp://backup@nas.example.com:Hunter2/in', 'sftp://backup@nas.example.com:***/in'],
      ['mailto:joe:pass', 'mailto:joe:***'],
      ['mailto:joe:pass@example.com', 'mailto:joe:***@example.com'],
      ['snmp://public', 'snmp://***'],
      ['snmp://monitor:SHA:secret123', 'snmp://***'],
    ];
    for (const [text, shown] of cases) expect(redactSecrets(text, { word: true })).toBe(shown);
    // Ports stay: they are no secret, and a URI that parses keeps its form.
    for (const text of ['http://proxy:3128/x', 'https://[fd00::7]:8443/', 'scp://dan@host:22:/p', 'ftp://dan@10.0.0.5:2121', 'mailto:ops@example.com']) {
      expect(redactSecrets(text, { word: true })).toBe(text);
    }
  });
});
