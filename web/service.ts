// The web front end inside platformd: the certificate nginx serves, how it
// is replaced, and nginx's configuration. A certificate is installed
// atomically: files written aside, nginx tested and reloaded, a real TLS
// handshake must return the new certificate, else the previous one is put
// back in service.

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { connect } from 'node:tls';
import { badInput, failure } from '../core/errors.js';
import { type Context } from '../core/context.js';
import { certificateRequest, newRsaKey, requestMatchesDetails, selfSigned } from '../certs/generate.js';
import { checkDetails } from '../certs/details.js';
import { type CertDetails } from '../store/settings.js';
import { checkServerAuth, checkStrength, findLeaf, isSelfSigned, checkValidity, keyMatches, namesCovering, networkNameMismatch, networkNames, orderChain, readBundle, strengthOf, subjectName } from '../certs/validate.js';
import type { Runtime } from '../core/runtime.js';
import { primaryAddress } from '../os/host.js';
import { nodeOrDefault } from '../store/node.js';
import { Nginx, nginxConfig, settingsFrom } from './nginx.js';
import { PORTAL_NAMES, portalStates, readDisabledPortals, writeDisabledPortals, type PortalName, type PortalState } from './portals.js';
import { readBoundedFile, writeFileInside } from '../os/files.js';
import { reportSkipped } from '../core/skipped.js';
import { fileIn, safeName } from '../os/names.js';

declare module '../core/context.js' {
  interface Services {
    web?: WebService;
  }
}

export const MAX_UPLOAD_BYTES = 1024 * 1024;

export interface InstalledCertificate {
  subject: string;
  issuer: string;
  altNames: string[];
  validFrom: string;
  validTo: string;
  fingerprint: string;
  keyType: string;
  selfSigned: boolean;
  chainLength: number;
}

export class WebService {
  readonly nginx: Nginx;
  /**
   * Certificate changes run one at a time, in order: two at once would
   * write the same files and each report the other's certificate as served.
   */
  private changes: Promise<unknown> = Promise.resolve();

  constructor(private readonly runtime: Runtime) {
    this.nginx = new Nginx(runtime.paths);
  }

  private get paths() {
    return this.runtime.paths;
  }

  private get pendingDir() {
    return join(this.paths.certs, 'pending');
  }

  /** The node's names and addresses, which the certificate must cover. */
  nodeNames(): { names: string[]; addresses: string[] } {
    const node = nodeOrDefault(this.runtime.store, osHostname());
    const names = networkNames(node);
    const address = node.ip ?? primaryAddress();
    return { names, addresses: address ? [address] : [] };
  }

  details(): CertDetails {
    const saved = this.runtime.store.settings.get('web.certDetails');
    if (saved) return saved;
    const { names, addresses } = this.nodeNames();
    return { commonName: names[names.length - 1]!, altNames: [...names, ...addresses] };
  }

  /** Runs one change of nginx's certificate or configuration after the ones before it have finished (or failed). */
  oneAtATime<T>(change: () => Promise<T>): Promise<T> {
    const next = this.changes.then(change, change);
    this.changes = next.catch(() => undefined);
    return next;
  }

  saveDetails(details: CertDetails): void {
    this.runtime.store.settings.set('web.certDetails', details);
  }

  installed(): InstalledCertificate | undefined {
    const file = this.paths.webCertificate;
    if (!existsSync(file)) return undefined;
    const pem = readFileSync(file, 'utf8');
    const { certificates } = readBundle(Buffer.from(pem));
    const leaf = certificates[0]!;
    const key = strengthOf(leaf.publicKey);
    return {
      subject: leaf.subject.replace(/\n/g, ', '),
      issuer: leaf.issuer.replace(/\n/g, ', '),
      altNames: (leaf.subjectAltName ?? '').split(', ').filter(Boolean),
      validFrom: new Date(leaf.validFrom).toISOString(),
      validTo: new Date(leaf.validTo).toISOString(),
      fingerprint: leaf.fingerprint256,
      keyType: key.type === 'rsa' ? `RSA ${key.bits}` : key.type === 'ec' ? `EC ${key.curve}` : key.type,
      selfSigned: isSelfSigned(leaf),
      chainLength: certificates.length,
    };
  }

  /** Regenerates nginx's configuration from the store; tested before it is loaded. What it left out is reported once loaded. */
  async reconfigure(): Promise<void> {
    const { text, skipped } = nginxConfig(this.paths, settingsFrom(this.runtime.store, this.paths, this.runtime.options.webPorts));
    await this.nginx.apply(text);
    reportSkipped(this.runtime, 'nginx', skipped);
  }

  /** The web services (portals) and whether each is enabled. */
  portals(): PortalState[] {
    return portalStates(readDisabledPortals(this.runtime.store));
  }

  /**
   * Enables or disables a web service and reloads nginx with it; refuses to
   * disable the last enabled one. If nginx refuses the new configuration,
   * the setting is put back and the running nginx keeps the old one.
   * Answers whether anything changed.
   */
  setPortal(name: PortalName, enabled: boolean): Promise<boolean> {
    return this.oneAtATime(async () => {
      const store = this.runtime.store;
      const before = readDisabledPortals(store);
      const after = enabled ? before.filter((n) => n !== name) : [...new Set([...before, name])];
      if (after.length === before.length) return false;
      if (after.length === PORTAL_NAMES.length) {
        const others = PORTAL_NAMES.filter((n) => n !== name).join(', ');
        throw badInput('last-web-service', `${name} is the only enabled web service: enable ${others} first ("web service enable ${others}"), or the web server would serve nothing`);
      }
      writeDisabledPortals(store, after);
      try {
        await this.reconfigure();
      } catch (error) {
        writeDisabledPortals(store, before);
        throw failure('nginx-refused', `web services unchanged: ${(error as Error).message}`);
      }
      return true;
    });
  }

  async start(): Promise<void> {
    if (!existsSync(this.paths.webCertificate)) await this.generateSelfSigned();
    else await this.reconfigure();
    this.nginx.start((code) => this.runtime.log('error', `nginx exited (${code})`));
    await this.waitForHandshake(readFileSync(this.paths.webCertificate, 'utf8'), 5000).catch((error) => this.runtime.log('warn', `nginx: ${error.message}`));
  }

  generateSelfSigned(): Promise<InstalledCertificate> {
    return this.oneAtATime(async () => {
      const key = await newRsaKey();
      const certificate = await selfSigned(checkDetails(this.details()), key);
      return this.install(certificate, key);
    });
  }

  /**
   * A warning when the certificate in service does not match the node's
   * network name (the seed: certificates must match it), saying how to renew it.
   */
  networkNameWarning(): string | undefined {
    if (!existsSync(this.paths.webCertificate)) return undefined;
    const { certificates } = readBundle(readFileSync(this.paths.webCertificate));
    const mismatch = networkNameMismatch(certificates[0]!, networkNames(nodeOrDefault(this.runtime.store, osHostname())));
    return mismatch && `${mismatch}: set its CN with "web cert details edit", then "web cert gen_csr" and "web cert add <file>" with the CA's reply (or "web cert gen_selfsigned")`;
  }

  /** The CSR's file in media: named after the common name, which must be a plain name. */
  csrFileName(): string {
    return safeName(`${this.details().commonName}.csr`, 'the CSR file name (from the CN, see "web cert details edit")');
  }

  /** A new key kept aside until its certificate arrives, and a CSR written to media. */
  generateCsr(): Promise<{ file: string; csr: string }> {
    return this.oneAtATime(async () => {
      const name = this.csrFileName();
      const key = await newRsaKey();
      const csr = await certificateRequest(checkDetails(this.details()), key);
      mkdirSync(this.pendingDir, { recursive: true, mode: 0o700 });
      writeFileInside(this.pendingDir, 'privkey.pem', key.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
      writeFileInside(this.pendingDir, 'request.csr', csr, 0o644);
      // In media, for the administrator to fetch with scp (as a console user, not root).
      return { file: writeFileInside(this.paths.media, name, csr, 0o644), csr };
    });
  }

  /** A request made by "web cert gen_csr" waits for the CA's reply (its key is kept aside until then). */
  pendingRequestExists(): boolean {
    return existsSync(join(this.pendingDir, 'request.csr'));
  }

  private readPendingRequest(): string | undefined {
    const source = join(this.pendingDir, 'request.csr');
    // One made by an older version has CR LF lines.
    return existsSync(source) ? readFileSync(source, 'utf8').replace(/\r\n/g, '\n') : undefined;
  }

  /** Whether the pending CSR still asks for the details kept now; undefined when none is pending. */
  async pendingMatchesDetails(): Promise<boolean | undefined> {
    const csr = this.readPendingRequest();
    return csr === undefined ? undefined : requestMatchesDetails(csr, this.details()).catch(() => false);
  }

  /** The pending CSR, written to media again, and whether it still asks for the details kept now. */
  async pendingCsr(): Promise<{ file: string; csr: string; matchesDetails: boolean }> {
    const csr = this.readPendingRequest();
    if (csr === undefined) throw badInput('no-pending-csr', 'there is no pending certificate request; make one with "web cert gen_csr"');
    const file = this.csrFileName();
    const matchesDetails = (await this.pendingMatchesDetails()) === true;
    return { file: writeFileInside(this.paths.media, file, csr, 0o644), csr, matchesDetails };
  }

  /** Reads an upload from media: a plain name, opened once, checked through its descriptor, at most 1 MiB. */
  async readUpload(name: string): Promise<Buffer> {
    return readBoundedFile(fileIn(this.paths.media, name, 'media file name'), { maxBytes: MAX_UPLOAD_BYTES, label: `media/${name}` });
  }

  /** Checks an uploaded bundle; returns what to install and the warnings to confirm. */
  async checkUpload(name: string): Promise<{ chain: string; key: KeyObject; keySource: 'file' | 'pending'; uncovered?: string }> {
    const bundle = readBundle(await this.readUpload(name));
    const leaf = findLeaf(bundle.certificates);
    const pendingKeyFile = join(this.pendingDir, 'privkey.pem');
    const candidates: [KeyObject, 'file' | 'pending'][] = bundle.keys.map((k) => [k, 'file']);
    if (existsSync(pendingKeyFile)) candidates.push([createPrivateKey(readFileSync(pendingKeyFile)), 'pending']);
    const match = candidates.find(([k]) => keyMatches(leaf, k));
    if (!match) {
      throw badInput(
        'key-mismatch',
        candidates.length
          ? `the private key does not match the certificate "${subjectName(leaf)}" (${bundle.keys.length ? 'key in the file' : 'key of the pending CSR'})`
          : 'no private key: include it in the file, or make the request with "web cert gen_csr" first',
      );
    }
    checkValidity(leaf);
    checkStrength(leaf.publicKey);
    checkServerAuth(leaf);
    const chain = orderChain(bundle.certificates);
    const { names, addresses } = this.nodeNames();
    const covered = namesCovering(leaf, names, addresses);
    return {
      chain: chain.map((c) => c.toString()).join(''),
      key: match[0],
      keySource: match[1],
      uncovered: covered.length === 0 ? `the certificate's names (${leaf.subjectAltName ?? subjectName(leaf)}) do not cover this node (${[...names, ...addresses].join(', ')})` : undefined,
    };
  }

  async add(ctx: Context, name: string): Promise<{ installed: InstalledCertificate; warnings: string[] }> {
    const upload = await this.checkUpload(name);
    const warnings: string[] = [];
    if (upload.uncovered) {
      warnings.push(upload.uncovered);
      if (!(await ctx.confirm(`${upload.uncovered}. Browsers will warn. Install it anyway?`))) throw failure('not-confirmed', `not installed: ${upload.uncovered}`);
    }
    return this.oneAtATime(async () => {
      const installed = await this.install(upload.chain, upload.key);
      if (upload.keySource === 'pending') rmSync(this.pendingDir, { recursive: true, force: true });
      return { installed, warnings };
    });
  }

  /**
   * Puts a chain and key in service: new files aside, swapped in, nginx
   * tested and reloaded, the handshake checked; on any failure the previous
   * pair is restored and served again.
   */
  private async install(chain: string, key: KeyObject): Promise<InstalledCertificate> {
    const certFile = this.paths.webCertificate;
    const keyFile = this.paths.webKey;
    mkdirSync(join(this.paths.certs, 'web'), { recursive: true, mode: 0o700 });
    const hadPrevious = existsSync(certFile) && existsSync(keyFile);
    if (hadPrevious) {
      copyFileSync(certFile, `${certFile}.prev`);
      copyFileSync(keyFile, `${keyFile}.prev`);
    }
    try {
      writeFileInside(dirname(keyFile), basename(keyFile), key.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
      writeFileInside(dirname(certFile), basename(certFile), chain, 0o644);
      await this.reconfigure();
      if (this.nginx.running()) await this.waitForHandshake(chain, 5000);
    } catch (error) {
      if (hadPrevious) {
        renameSync(`${certFile}.prev`, certFile);
        renameSync(`${keyFile}.prev`, keyFile);
        try {
          await this.reconfigure();
        } catch {
          // the previous pair was serving before; nginx keeps it loaded
        }
      }
      const kept = hadPrevious ? ', the previous one is in service' : '';
      throw failure('install-failed', `the certificate was not installed${kept}: ${(error as Error).message}`);
    }
    rmSync(`${certFile}.prev`, { force: true });
    rmSync(`${keyFile}.prev`, { force: true });
    return this.installed()!;
  }

  /** Waits until a real TLS handshake on the web port returns this chain's leaf. */
  async waitForHandshake(chain: string, timeoutMs: number): Promise<void> {
    const expected = new X509Certificate(chain).fingerprint256;
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    // Three answers in a row: while nginx reloads, an old worker may still answer once.
    let inARow = 0;
    while (Date.now() < deadline) {
      try {
        const served = await servedFingerprint('127.0.0.1', this.runtime.options.webPorts.https);
        inARow = served === expected ? inARow + 1 : 0;
        if (inARow === 3) return;
        if (inARow > 0) continue;
        last = `nginx still serves ${served.slice(0, 23)}...`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the web server does not serve the new certificate (${last})`);
  }
}

export function servedFingerprint(host: string, port: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      cert ? resolvePromise(cert.fingerprint256) : reject(new Error('no certificate served'));
    });
    socket.setTimeout(2000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}
