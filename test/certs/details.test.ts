// The certificate details' fields, each checked as the form asks it: what a
// person can type wrong gets a message naming the field and what it expects.

import { describe, expect, it } from 'vitest';
import { DETAIL_FIELDS, checkAltNames, checkDetail, checkDetails } from '../../certs/details.js';

const field = (label: string) => DETAIL_FIELDS.find((f) => f.label === label)!;
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
};

describe('certificate details, field by field', () => {
  it('accepts good answers and trims them; an empty optional field is unset', () => {
    expect(checkDetail(field('CN'), ' web01.example.test ')).toBe('web01.example.test');
    expect(checkDetail(field('CN'), '*.example.test')).toBe('*.example.test');
    expect(checkDetail(field('O'), 'Société Exemple & Cie')).toBe('Société Exemple & Cie');
    expect(checkDetail(field('C'), 'ZA')).toBe('ZA');
    expect(checkDetail(field('email'), 'pki@example.test')).toBe('pki@example.test');
    expect(checkDetail(field('OU'), '')).toBeUndefined();
  });

  it.each([
    ['CN', '', /CN must not be empty/],
    ['CN', '../../x', /path separator/],
    ['CN', 'web 01', /is not a host name/],
    ['C', 'South Africa', /C "South Africa" is longer than 2 characters/],
    ['C', 'za', /C "za" is not a two-letter country code/],
    ['email', 'pki at example', /email "pki at example" is not an e-mail address/],
    ['email', 'pkï@example.test', /is not an e-mail address, name@domain, in ASCII/],
    ['O', 'x'.repeat(65), /O "x+.* is longer than 64 characters/],
    ['L', 'a\u001b[2Jb', /holds a control character/],
  ])('refuses %s %j', (label, answer, message) => {
    expect(refusal(() => checkDetail(field(label), answer))).toMatch(message);
  });

  it('checks the SAN list: host names and addresses, at most 100', () => {
    expect(checkAltNames(' web01, 192.0.2.7 ,,*.example.test')).toEqual(['web01', '192.0.2.7', '*.example.test']);
    expect(refusal(() => checkAltNames('web01,bad name'))).toMatch(/SAN "bad name" is neither a host name nor an IP address/);
    expect(refusal(() => checkAltNames(Array.from({ length: 101 }, (_, i) => `n${i}`).join(',')))).toMatch(/at most 100/);
  });

  it('checks a whole set at once (one-shot options)', () => {
    expect(checkDetails({ commonName: 'web01', country: 'ZA', altNames: ['web01'] })).toEqual({ commonName: 'web01', country: 'ZA', altNames: ['web01'] });
    expect(refusal(() => checkDetails({ commonName: 'web01', email: 'nope', altNames: [] }))).toMatch(/email "nope"/);
  });
});
