// Cluster identities: each node's key and certificate, and the cluster CA the
// primary creates. They are separate from the web certificate. EC P-256 keys
// and certificates are made with the openssl CLI (native, milliseconds).

import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../core/paths.js';
import { runChecked } from '../os/processes.js';

export interface ClusterFiles {
  dir: string;
  key: string;
  /** Self-signed identity until the node joins; then the certificate the CA issued. */
  cert: string;
  ca: string;
  caKey: string;
}

export function clusterFiles(paths: Paths): ClusterFiles {
  const dir = join(paths.certs, 'cluster');
  return { dir, key: join(dir, 'node.key'), cert: join(dir, 'node.pem'), ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key') };
}

/** openssl, off the event loop and bounded in time (EC P-256: milliseconds). */
const openssl = (args: string[], cwd: string) => runChecked('openssl', args, { cwd, timeoutMs: 30_000, what: `openssl ${args[0]}` });

/** The node's key and a self-signed identity certificate, made once. */
export async function ensureIdentity(files: ClusterFiles, hostname: string): Promise<void> {
  if (existsSync(files.key) && existsSync(files.cert)) return;
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${files.key}.new`, '-out', `${files.cert}.new`, '-days', '3650', '-subj', `/CN=${cnSafe(hostname)}`], files.dir);
  renameSync(`${files.key}.new`, files.key);
  renameSync(`${files.cert}.new`, files.cert);
}

export function fingerprintOf(pem: string | Buffer): string {
  return new X509Certificate(pem).fingerprint256;
}

/** The primary's CA, made at the first `cluster add`. */
export async function ensureCa(files: ClusterFiles, clusterName: string): Promise<void> {
  if (existsSync(files.ca) && existsSync(files.caKey)) return;
  await openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.caKey, '-out', files.ca, '-days', '3650', '-subj', `/CN=${cnSafe(clusterName)} cluster CA`, '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    files.dir,
  );
}

/** Issues a node certificate for a public key (taken from the node's identity certificate). */
export async function issueNodeCertificate(files: ClusterFiles, identityPem: string, hostname: string, address: string): Promise<string> {
  const work = join(files.dir, `issue-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(work, { mode: 0o700 });
  try {
    const publicKey = new X509Certificate(identityPem).publicKey.export({ type: 'spki', format: 'pem' });
    writeFileSync(join(work, 'node.pub'), publicKey);
    writeFileSync(join(work, 'ext'), `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:false\n`);
    // `x509 -new -force_pubkey` would need OpenSSL 3.2; a CSR cannot be made without the node's private key,
    // so the certificate is built from a throwaway request and the node's public key is forced in.
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tmp.key', '-out', 'req.csr', '-subj', `/CN=${cnSafe(hostname)}`], work);
    await openssl(['x509', '-req', '-in', 'req.csr', '-force_pubkey', 'node.pub', '-CA', files.ca, '-CAkey', files.caKey, '-CAcreateserial', '-out', 'node.pem', '-days', '825', '-extfile', 'ext'], work);
    return readFileSync(join(work, 'node.pem'), 'utf8');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Installs the CA and the issued certificate, after checking they belong to this node's key. */
export function installMembership(files: ClusterFiles, caPem: string, certPem: string): void {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  if (!cert.checkPrivateKey(createPrivateKey(readFileSync(files.key)))) throw new Error('the issued certificate is not for this node');
  if (!cert.verify(ca.publicKey)) throw new Error('the issued certificate is not signed by the cluster CA');
  writeFileSync(`${files.ca}.new`, caPem);
  writeFileSync(`${files.cert}.new`, certPem);
  renameSync(`${files.ca}.new`, files.ca);
  renameSync(`${files.cert}.new`, files.cert);
}

const cnSafe = (name: string) => name.replace(/[^A-Za-z0-9.-]/g, '-');
