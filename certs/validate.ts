// What `web cert add` checks before anything changes: a PEM bundle of a
// leaf, its intermediates (any order) and optionally its private key. The
// checks are those the best appliances make: key matches leaf (RSA and EC,
// by public key), chain links verify and are put leaf first, valid now, key
// strength, serverAuth usage, names cover the node.

import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { badInput } from '../core/errors.js';
import { formatTime } from '../core/time.js';

export interface Bundle {
  certificates: X509Certificate[];
  keys: KeyObject[];
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

export function parseBundle(text: string): Bundle {
  const certificates: X509Certificate[] = [];
  const keys: KeyObject[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [pem, label] = match as unknown as [string, string];
    if (label === 'CERTIFICATE') {
      try {
        certificates.push(new X509Certificate(pem));
      } catch {
        throw badInput('bad-certificate', 'the file holds a CERTIFICATE block that does not parse');
      }
    } else if (/PRIVATE KEY$/.test(label)) {
      if (label === 'ENCRYPTED PRIVATE KEY') throw badInput('encrypted-key', 'the private key in the file is encrypted; upload it unencrypted (it is stored with mode 0600)');
      try {
        keys.push(createPrivateKey(pem));
      } catch {
        throw badInput('bad-key', 'the file holds a private key that does not parse');
      }
    }
  }
  return { certificates, keys };
}

/** Reads PEM, or converts one DER certificate; anything else is refused clearly. */
export function readBundle(content: Buffer): Bundle {
  const text = content.toString('latin1');
  if (text.includes('-----BEGIN')) {
    const bundle = parseBundle(text.replace(/\r\n/g, '\n'));
    if (bundle.certificates.length === 0) throw badInput('no-certificate', 'the file holds no certificate (expected PEM "-----BEGIN CERTIFICATE-----" blocks)');
    return bundle;
  }
  try {
    return { certificates: [new X509Certificate(content)], keys: [] };
  } catch {
    throw badInput('not-a-certificate', 'the file is neither PEM nor a DER certificate');
  }
}

/** Issuer is subject and the signature verifies with its own key (checkIssued would also demand keyCertSign). */
export const isSelfSigned = (c: X509Certificate) => c.subject === c.issuer && c.verify(c.publicKey);

/** The server certificate: the one that issues none of the others. */
export function findLeaf(certificates: X509Certificate[]): X509Certificate {
  const leaves = certificates.filter((c) => !certificates.some((other) => other !== c && other.checkIssued(c)) && !c.ca);
  if (leaves.length !== 1) {
    throw badInput('no-single-leaf', leaves.length === 0 ? 'the file has no server certificate (every certificate in it is a CA)' : `the file holds ${leaves.length} unrelated server certificates; only one can be installed`);
  }
  return leaves[0]!;
}

/** Orders the chain leaf first, checking every link's signature. */
export function orderChain(certificates: X509Certificate[]): X509Certificate[] {
  const chain = [findLeaf(certificates)];
  for (;;) {
    const current = chain[chain.length - 1]!;
    if (isSelfSigned(current)) break;
    const issuer = certificates.find((c) => !chain.includes(c) && current.checkIssued(c));
    if (!issuer) break;
    if (!current.verify(issuer.publicKey)) throw badInput('bad-signature', `the signature of "${subjectName(current)}" does not verify with the key of "${subjectName(issuer)}"`);
    chain.push(issuer);
  }
  const top = chain[chain.length - 1]!;
  if (!isSelfSigned(top) && !issuedByTrustedRoot(top)) {
    throw badInput(
      'missing-intermediate',
      `the chain stops at "${subjectName(top)}", issued by "${top.issuer.replace(/\n/g, ', ')}", which is neither in the file nor a trusted root: add the missing intermediate certificate`,
    );
  }
  const unused = certificates.filter((c) => !chain.includes(c));
  if (unused.length) throw badInput('unrelated-certificate', `"${subjectName(unused[0]!)}" is not part of the chain of "${subjectName(chain[0]!)}"`);
  return chain;
}

let trustedRoots: X509Certificate[] | undefined;
function issuedByTrustedRoot(cert: X509Certificate): boolean {
  trustedRoots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  return trustedRoots.some((root) => cert.checkIssued(root) && cert.verify(root.publicKey));
}

export const subjectName = (c: X509Certificate) => /CN=([^\n]+)/.exec(c.subject)?.[1] ?? c.subject.replace(/\n/g, ', ');

export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return fromKey.equals(cert.publicKey.export({ type: 'spki', format: 'der' }));
}

export interface KeyStrength {
  type: string;
  bits?: number;
  curve?: string;
}

export function strengthOf(key: KeyObject): KeyStrength {
  const details = key.asymmetricKeyDetails ?? {};
  return { type: key.asymmetricKeyType ?? 'unknown', bits: details.modulusLength, curve: details.namedCurve };
}

const STRONG_CURVES = ['prime256v1', 'secp384r1', 'secp521r1'];

export function checkStrength(key: KeyObject): void {
  const s = strengthOf(key);
  if (s.type === 'rsa' && (s.bits ?? 0) < 2048) throw badInput('weak-key', `the certificate's RSA key has ${s.bits} bits; at least 2048 are required`);
  if (s.type === 'ec' && !STRONG_CURVES.includes(s.curve ?? '')) throw badInput('weak-key', `the certificate's EC key uses ${s.curve}; P-256 or stronger is required`);
  if (!['rsa', 'ec', 'ed25519'].includes(s.type)) throw badInput('unsupported-key', `keys of type ${s.type} are not supported for web certificates`);
}

export function checkValidity(cert: X509Certificate, now = new Date()): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) throw badInput('not-yet-valid', `the certificate is not valid before ${formatTime(from)}`);
  if (now >= to) throw badInput('expired', `the certificate expired at ${formatTime(to)}`);
}

/** serverAuth must be among the extended key usages, when the extension is there. */
export function checkServerAuth(cert: X509Certificate): void {
  const usages = cert.keyUsage; // extended key usage OIDs; undefined when absent
  if (usages && !usages.includes('1.3.6.1.5.5.7.3.1') && !usages.includes('2.5.29.37.0')) {
    throw badInput('not-for-servers', 'the certificate is not for TLS servers (its extended key usage lacks serverAuth)');
  }
}

/** Names the certificate covers that match the node; empty means none does. */
export function namesCovering(cert: X509Certificate, names: string[], addresses: string[]): string[] {
  const covered: string[] = [];
  for (const name of names) if (cert.checkHost(name)) covered.push(name);
  for (const address of addresses) if (cert.checkIP(address)) covered.push(address);
  return covered;
}

/** The node's network names: its host name and, with a domain, its full name. */
export function networkNames(node: { hostname: string; domain?: string }): string[] {
  return [node.hostname, ...(node.domain ? [`${node.hostname}.${node.domain}`] : [])];
}

/**
 * Why the certificate does not match the node's network name (it covers
 * neither the host name nor the full name), or undefined when it does.
 */
export function networkNameMismatch(cert: X509Certificate, names: string[]): string | undefined {
  if (namesCovering(cert, names, []).length > 0) return undefined;
  return `the web certificate is for ${cert.subjectAltName ?? subjectName(cert)}, not for this node's network name ${names[names.length - 1]}`;
}
