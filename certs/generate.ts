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

import type { CertDetails } from '../store/settings.js';
import { DETAIL_FIELDS, type AttributeString } from './details.js';

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

function subjectOf(f: Forge, details: CertDetails) {
  const tags: Record<AttributeString, number> = { printable: f.asn1.Type.PRINTABLESTRING, ia5: f.asn1.Type.IA5STRING, utf8: f.asn1.Type.UTF8 };
  return DETAIL_FIELDS.filter((d) => details[d.key]).map((d) => ({ name: d.attribute, value: details[d.key] as string, valueTagClass: tags[d.string] }));
}

/** PEM as files and terminals want it: forge ends its lines with CR LF, openssl and nginx expect LF. */
const withLf = (pem: string) => pem.replace(/\r\n/g, '\n');

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
  cert.setSubject(subjectOf(f, details));
  cert.setIssuer(subjectOf(f, details));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNamesOf(details) },
  ]);
  const signer = nativeSigner(key);
  cert.sign(signer.key, signer.md);
  return withLf(f.pki.certificateToPem(cert));
}

export async function certificateRequest(details: CertDetails, key: KeyObject): Promise<string> {
  const f = await forge();
  const csr = f.pki.createCertificationRequest();
  csr.publicKey = forgePublicKey(f, key);
  csr.setSubject(subjectOf(f, details));
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: altNamesOf(details) }] }]);
  const signer = nativeSigner(key);
  csr.sign(signer.key, signer.md);
  return withLf(f.pki.certificationRequestToPem(csr));
}

/**
 * Whether a CSR asks for what the details say now (subject and names): a
 * CSR made before `web cert details edit` asks for the old ones.
 */
export async function requestMatchesDetails(csrPem: string, details: CertDetails): Promise<boolean> {
  const f = await forge();
  const csr = f.pki.certificationRequestFromPem(csrPem);
  const text = (a: { value?: unknown; valueTagClass?: number }) => (a.valueTagClass === f.asn1.Type.UTF8 ? f.util.decodeUtf8(String(a.value)) : String(a.value));
  const asked = csr.subject.attributes.map((a) => `${a.type}=${text(a)}`);
  const wanted = subjectOf(f, details).map((a) => `${f.pki.oids[a.name]}=${a.value}`);
  const extensions = (csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name: string; altNames?: { ip?: string; value?: string }[] }[] } | null)?.extensions ?? [];
  const askedNames = (extensions.find((e) => e.name === 'subjectAltName')?.altNames ?? []).map((n) => n.ip ?? n.value);
  const wantedNames = altNamesOf(details).map((n) => ('ip' in n ? n.ip : n.value));
  return JSON.stringify(asked) === JSON.stringify(wanted) && JSON.stringify(askedNames) === JSON.stringify(wantedNames);
}
