// Making keys, self-signed certificates and CSRs. Keys come from the
// platform's native crypto (node:crypto, OpenSSL underneath), never from
// pure-JavaScript RSA, and so do the signatures: node-forge only assembles
// the X.509 structures (its pure-JavaScript RSA signature alone costs
// 55-130 ms here, the native one about 1 ms), and is loaded only when a
// certificate is made.

import { createPublicKey, generateKeyPair as generateKeyPairCallback, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';

const generateKeyPair = promisify(generateKeyPairCallback);

/** The subject details kept in the config system (`web cert details`): a setting of the store, which declares their shape. */
import type { CertDetails } from '../store/settings.js';

export const DETAIL_FIELDS: readonly { key: keyof Omit<CertDetails, 'altNames'>; label: string; attribute: string }[] = [
  { key: 'commonName', label: 'CN', attribute: 'commonName' },
  { key: 'organization', label: 'O', attribute: 'organizationName' },
  { key: 'organizationalUnit', label: 'OU', attribute: 'organizationalUnitName' },
  { key: 'locality', label: 'L', attribute: 'localityName' },
  { key: 'state', label: 'ST', attribute: 'stateOrProvinceName' },
  { key: 'country', label: 'C', attribute: 'countryName' },
  { key: 'email', label: 'email', attribute: 'emailAddress' },
];

export const SELF_SIGNED_DAYS = 730;

export async function newRsaKey(bits = 2048): Promise<KeyObject> {
  const { privateKey } = await generateKeyPair('rsa', { modulusLength: bits });
  return privateKey;
}

type Forge = typeof import('node-forge');

async function forge(): Promise<Forge> {
  return (await import('node-forge')).default;
}

/**
 * What forge's `sign(key, md)` needs, backed by node:crypto: the "digest"
 * only collects the bytes to be signed, and the "key" signs them natively
 * (RSASSA-PKCS1-v1_5 with SHA-256, which is what forge labels the result).
 */
function nativeSigner(key: KeyObject) {
  const chunks: Buffer[] = [];
  const md = { algorithm: 'sha256', update: (bytes: string) => chunks.push(Buffer.from(bytes, 'binary')) };
  const signer = { sign: () => sign('sha256', Buffer.concat(chunks), key).toString('binary') };
  return { md: md as unknown as import('node-forge').md.MessageDigest, key: signer as unknown as import('node-forge').pki.rsa.PrivateKey };
}

function forgePublicKey(f: Forge, key: KeyObject) {
  return f.pki.publicKeyFromPem(createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string);
}

function subjectOf(details: CertDetails) {
  return DETAIL_FIELDS.filter((f) => details[f.key]).map((f) => ({ name: f.attribute, value: details[f.key] as string }));
}

function altNamesOf(details: CertDetails) {
  const names = [...new Set([details.commonName, ...details.altNames].filter(Boolean))];
  // type 2 = dNSName, type 7 = iPAddress
  return names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
}

export async function selfSigned(details: CertDetails, key: KeyObject, days = SELF_SIGNED_DAYS): Promise<string> {
  const f = await forge();
  const cert = f.pki.createCertificate();
  cert.publicKey = forgePublicKey(f, key);
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
  cert.setSubject(subjectOf(details));
  cert.setIssuer(subjectOf(details));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNamesOf(details) },
  ]);
  const signer = nativeSigner(key);
  cert.sign(signer.key, signer.md);
  return f.pki.certificateToPem(cert);
}

export async function certificateRequest(details: CertDetails, key: KeyObject): Promise<string> {
  const f = await forge();
  const csr = f.pki.createCertificationRequest();
  csr.publicKey = forgePublicKey(f, key);
  csr.setSubject(subjectOf(details));
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: altNamesOf(details) }] }]);
  const signer = nativeSigner(key);
  csr.sign(signer.key, signer.md);
  return f.pki.certificationRequestToPem(csr);
}
