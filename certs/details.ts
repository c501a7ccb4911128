// The subject details of the web certificate (`web cert details edit`): one
// table of the fields, each with its X.509 attribute, the ASN.1 string type
// the attribute needs, its upper bound (RFC 5280's ub-* values) and its
// check. The console's form checks each answer against its row as it is
// given; the options of one-shot use go through the same rows.

import { isIP } from 'node:net';
import { badInput } from '../core/errors.js';
import { isHostname } from '../core/argtypes.js';
import { safeName } from '../os/names.js';
import type { CertDetails } from '../store/settings.js';

/** The string type of an attribute's value: PrintableString for the country (RFC 5280), IA5String for e-mail (PKCS #9; `openssl ca` refuses another), UTF8String for the rest. */
export type AttributeString = 'printable' | 'ia5' | 'utf8';

export interface DetailField {
  key: keyof Omit<CertDetails, 'altNames'>;
  /** The appliance's label, as `web cert details` prints it and the form asks it. */
  label: string;
  attribute: string;
  string: AttributeString;
  maxLength: number;
  /** What a valid answer looks like, for the message when one is not. */
  expected?: string;
  valid?: (value: string) => boolean;
}

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;

export const DETAIL_FIELDS: readonly DetailField[] = [
  { key: 'commonName', label: 'CN', attribute: 'commonName', string: 'utf8', maxLength: 64, expected: 'a host name (letters, digits, hyphens and dots; "*." first for a wildcard)', valid: (v) => isHostname(v.replace(/^\*\./, '')) },
  { key: 'organization', label: 'O', attribute: 'organizationName', string: 'utf8', maxLength: 64 },
  { key: 'organizationalUnit', label: 'OU', attribute: 'organizationalUnitName', string: 'utf8', maxLength: 64 },
  { key: 'locality', label: 'L', attribute: 'localityName', string: 'utf8', maxLength: 128 },
  { key: 'state', label: 'ST', attribute: 'stateOrProvinceName', string: 'utf8', maxLength: 128 },
  { key: 'country', label: 'C', attribute: 'countryName', string: 'printable', maxLength: 2, expected: 'a two-letter country code, e.g. ZA', valid: (v) => /^[A-Z]{2}$/.test(v) },
  { key: 'email', label: 'email', attribute: 'emailAddress', string: 'ia5', maxLength: 255, expected: 'an e-mail address, name@domain, in ASCII', valid: (v) => EMAIL.test(v) },
];

/** At most this many extra names in the subjectAltName. */
export const MAX_ALT_NAMES = 100;

/** A value in a message: quoted, escaped, and cut short when long. */
const quoted = (value: string) => JSON.stringify([...value].length > 60 ? `${[...value].slice(0, 60).join('')}...` : value);

/**
 * One field's answer, checked: the value to keep (undefined when empty, for
 * an optional field), or a bad-input error saying what the field expects.
 */
export function checkDetail(field: DetailField, answer: string): string | undefined {
  const value = answer.trim();
  if (value === '') {
    if (field.key === 'commonName') throw badInput('no-common-name', 'the CN must not be empty');
    return undefined;
  }
  const refuse = (why: string) => badInput(`bad-${field.key}`, `${field.label} ${quoted(value)} ${why}`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f-\x9f]/.test(value)) throw refuse('holds a control character');
  if ([...value].length > field.maxLength) throw refuse(`is longer than ${field.maxLength} characters`);
  // The CN names the CSR's file in media: it must be a plain name.
  if (field.key === 'commonName') safeName(`${value}.csr`, 'CN');
  if (field.valid && !field.valid(value)) throw refuse(`is not ${field.expected}`);
  return value;
}

/** The SAN answer: comma-separated host names (a leading `*.` allowed) and addresses. */
export function checkAltNames(answer: string): string[] {
  const names = answer.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length > MAX_ALT_NAMES) throw badInput('too-many-names', `SAN holds ${names.length} names; at most ${MAX_ALT_NAMES}`);
  const bad = names.find((n) => isIP(n) === 0 && !isHostname(n.replace(/^\*\./, '')));
  if (bad !== undefined) throw badInput('bad-altNames', `SAN ${quoted(bad)} is neither a host name nor an IP address`);
  return names;
}

/** Checks a whole set of details (options given at once, or details read back from the store). */
export function checkDetails(details: CertDetails): CertDetails {
  const out: CertDetails = { commonName: '', altNames: checkAltNames(details.altNames.join(',')) };
  for (const field of DETAIL_FIELDS) {
    const value = checkDetail(field, details[field.key] ?? '');
    if (value !== undefined) out[field.key] = value;
  }
  return out;
}
