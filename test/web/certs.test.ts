// Web certificates end to end: platformd runs a real nginx on loopback, and
// real TLS handshakes say which certificate is served after each command.
// A throwaway CA (root + intermediate) is made here with openssl.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { servedFingerprint } from '../../web/service.js';
import { freePort, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;
const HTTPS = freePort();
const HTTP = freePort();
const ca = tempHome('ps-ca-');
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: ca, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const file = (name: string) => join(ca, name);
const read = (name: string) => readFileSync(file(name), 'utf8');
const served = () => servedFingerprint('127.0.0.1', HTTPS);
const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;
const media = (name: string, content: string | Buffer) => writeFileSync(join(node.home, 'media', name), content);

/** Signs a CSR with the intermediate (`openssl ca`, which can also back- and forward-date: `dates`). */
function sign(csr: string, out: string, dates: string[] = [], ext = 'subjectAltName=DNS:web01,DNS:web01.example.test\nextendedKeyUsage=serverAuth') {
  writeFileSync(file(`${out}.ext`), ext + '\n');
  const validity = dates.length ? dates : ['-days', '90'];
  openssl('ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', 'inter.pem', '-keyfile', 'inter.key', '-in', csr, '-out', out, '-extfile', `${out}.ext`, ...validity);
}

function leafWithKey(name: string, keyArgs: string[], ext?: string, extra: string[] = []) {
  openssl('req', '-new', '-newkey', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=web01');
  sign(`${name}.csr`, `${name}.pem`, extra, ext);
}

beforeAll(async () => {
  writeFileSync(file('ca.ext'), 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n');
  writeFileSync(file('ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial.txt\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n');
  writeFileSync(file('index.txt'), '');
  writeFileSync(file('serial.txt'), '1000\n');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '365', '-subj', '/CN=Test Root CA', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', '/CN=Test Intermediate CA');
  openssl('x509', '-req', '-in', 'inter.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'inter.pem', '-days', '365', '-extfile', 'ca.ext');
  node = await startDaemon({ args: ['--web-port', String(HTTPS), '--http-port', String(HTTP)] });
  await node.platform(['system', 'setup', '--hostname', 'web01', '--domain', 'example.test', '--role', 'webproxy']);
});
afterAll(async () => {
  await node?.stop();
});

describe('serving certificates', () => {
  it('serves a self-signed certificate from the first start, with the key kept private', async () => {
    const cert = readFileSync(join(node.home, 'certs', 'web', 'fullchain.pem'), 'utf8');
    expect(await served()).toBe(fingerprintOf(cert));
    expect(statSync(join(node.home, 'certs', 'web', 'privkey.pem')).mode & 0o777).toBe(0o600);
    const details = await node.platform(['web', 'cert', 'details']);
    expect(details.stdout).toContain('self-signed: yes');
    expect(details.stdout).not.toContain('PRIVATE KEY');
  });

  it('serves a new self-signed certificate after gen_selfsigned', async () => {
    const before = await served();
    const result = await node.platform(['web', 'cert', 'gen_selfsigned', '--yes']);
    expect(result.status).toBe(0);
    const after = await served();
    expect(after).not.toBe(before);
    expect(after).toBe(fingerprintOf(readFileSync(join(node.home, 'certs', 'web', 'fullchain.pem'), 'utf8')));
    const cert = new X509Certificate(readFileSync(join(node.home, 'certs', 'web', 'fullchain.pem')));
    expect(cert.subjectAltName).toContain('DNS:web01.example.test');
  });

  it('installs the CA-signed reply to gen_csr, with the chain put leaf first', async () => {
    expect((await node.platform(['web', 'cert', 'details', 'edit', '--organization', 'Example Ltd', '--country', 'ZA'])).status).toBe(0);
    const csr = await node.platform(['web', 'cert', 'gen_csr']);
    expect(csr.status).toBe(0);
    const csrFile = join(node.home, 'media', 'web01.example.test.csr');
    expect(csr.stdout).toContain(csrFile);
    // What print_csr prints, redirected to a file, is a CSR openssl reads (LF lines, nothing escaped).
    const printed = await node.platform(['web', 'cert', 'print_csr']);
    expect(printed.stdout).not.toContain('\\r');
    writeFileSync(file('printed.csr'), printed.stdout);
    expect(openssl('req', '-in', 'printed.csr', '-noout', '-subject')).toContain('O = Example Ltd');
    writeFileSync(file('reply.csr'), readFileSync(csrFile));
    expect(openssl('req', '-in', 'reply.csr', '-noout', '-subject')).toContain('O = Example Ltd');
    sign('reply.csr', 'reply.pem');
    // Out of order: root, leaf, intermediate.
    media('reply.pem', read('root.pem') + read('reply.pem') + read('inter.pem'));
    const add = await node.platform(['web', 'cert', 'add', 'reply.pem']);
    expect(add.stdout + add.stderr).toContain('installed');
    expect(add.status).toBe(0);
    expect(await served()).toBe(fingerprintOf(read('reply.pem')));
    const chain = readFileSync(join(node.home, 'certs', 'web', 'fullchain.pem'), 'utf8');
    expect(chain.indexOf(read('reply.pem').trim().split('\n')[1]!)).toBe(chain.indexOf('\n') + 1);
    expect((await node.platform(['web', 'cert', 'print_csr'])).status).toBe(2); // the pending request is used up
  });

  it('asks before a new gen_csr replaces the pending key, and says when the CSR no longer matches the details', async () => {
    expect((await node.platform(['web', 'cert', 'gen_csr'])).status).toBe(0);
    const pending = readFileSync(join(node.home, 'certs', 'pending', 'privkey.pem'), 'utf8');
    const refused = await node.platform(['web', 'cert', 'gen_csr']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('the pending certificate request is kept');
    expect(readFileSync(join(node.home, 'certs', 'pending', 'privkey.pem'), 'utf8')).toBe(pending);

    expect((await node.platform(['web', 'cert', 'print_csr'])).stdout).not.toContain('WARNING');
    const edit = await node.platform(['web', 'cert', 'details', 'edit', '--organization', 'Other Ltd']);
    expect(edit.stdout).toContain('WARNING: the pending CSR no longer matches the certificate details');
    const stale = await node.platform(['web', 'cert', 'print_csr']);
    expect(stale.stdout).toMatch(/WARNING: the pending CSR no longer matches the certificate details .*make a new one with "web cert gen_csr"/);
    expect(JSON.parse((await node.platform(['--json', 'web', 'cert', 'print_csr'])).stdout).warnings).toHaveLength(1);

    expect((await node.platform(['web', 'cert', 'gen_csr', '--yes'])).status).toBe(0);
    expect(readFileSync(join(node.home, 'certs', 'pending', 'privkey.pem'), 'utf8')).not.toBe(pending);
    expect((await node.platform(['web', 'cert', 'print_csr'])).stdout).not.toContain('WARNING');
    // The CA's reply uses the pending request up.
    writeFileSync(file('second.csr'), readFileSync(join(node.home, 'media', 'web01.example.test.csr')));
    sign('second.csr', 'second.pem');
    media('second.pem', read('second.pem') + read('inter.pem') + read('root.pem'));
    expect((await node.platform(['web', 'cert', 'add', 'second.pem'])).status).toBe(0);
  });

  it('says, after a new host name, that the CA-signed certificate no longer matches it: in the answer and on the banner', async () => {
    expect((await node.platform(['health'])).stdout).not.toContain('DOES NOT MATCH');
    const renamed = await node.platform(['network', 'hostname', 'web02']);
    expect(renamed.status).toBe(0);
    expect(renamed.stdout).toMatch(/WARNING: the web certificate is for DNS:web01, DNS:web01\.example\.test, not for this node's network name web02\.example\.test: set its CN with "web cert details edit"/);
    const health = await node.platform(['health']);
    expect(health.stdout).toMatch(/^WEB CERT DOES NOT MATCH NETWORK NAME: WEB02\.EXAMPLE\.TEST$/m);
    expect(health.status).toBe(1);
    const back = await node.platform(['network', 'hostname', 'web01']);
    expect(back.stdout).not.toContain('WARNING');
    expect((await node.platform(['health'])).stdout).not.toContain('DOES NOT MATCH');
  });

  it('asks for the details only where someone can answer: one-shot use without options is refused at once', async () => {
    const result = await node.platform(['web', 'cert', 'details', 'edit']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('CN: nobody to ask; give the value as an argument');
  });

  it('installs a file that carries its own key, RSA or EC', async () => {
    leafWithKey('own-ec', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    media('own-ec.pem', read('own-ec.key') + read('own-ec.pem') + read('inter.pem') + read('root.pem'));
    expect((await node.platform(['web', 'cert', 'add', 'own-ec.pem'])).status).toBe(0);
    expect(await served()).toBe(fingerprintOf(read('own-ec.pem')));
  });

  it('reverts to a self-signed certificate with del', async () => {
    expect((await node.platform(['web', 'cert', 'del', '--yes'])).status).toBe(0);
    const cert = readFileSync(join(node.home, 'certs', 'web', 'fullchain.pem'), 'utf8');
    expect(await served()).toBe(fingerprintOf(cert));
    expect(new X509Certificate(cert).issuer).toBe(new X509Certificate(cert).subject);
  });
});

describe('refusing bad uploads, and still serving the previous certificate', () => {
  let previous: string;
  beforeAll(async () => {
    previous = await served();
    leafWithKey('rsa', ['rsa:2048']);
    leafWithKey('ec', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    leafWithKey('weak', ['rsa:1024']);
    leafWithKey('expired', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], undefined, ['-startdate', '190101000000Z', '-enddate', '200101000000Z']);
    leafWithKey('future', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], undefined, ['-startdate', '400101000000Z', '-enddate', '410101000000Z']);
    leafWithKey('other-name', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'subjectAltName=DNS:elsewhere.example.org');
    leafWithKey('client-only', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'subjectAltName=DNS:web01\nextendedKeyUsage=clientAuth');
  });

  const cases: [string, () => string | Buffer, RegExp][] = [
    ['garbage', () => 'hello, this is not a certificate', /neither PEM nor a DER certificate/],
    ['an RSA key that does not match', () => read('weak.key') + read('rsa.pem') + read('inter.pem') + read('root.pem'), /private key does not match/],
    ['an EC key that does not match', () => read('other-name.key') + read('ec.pem') + read('inter.pem') + read('root.pem'), /private key does not match/],
    ['an expired certificate', () => read('expired.key') + read('expired.pem') + read('inter.pem') + read('root.pem'), /expired at 2020-01-01/],
    ['a certificate not yet valid', () => read('future.key') + read('future.pem') + read('inter.pem') + read('root.pem'), /not valid before 2040-01-01/],
    ['a missing intermediate', () => read('ec.key') + read('ec.pem') + read('root.pem'), /add the missing intermediate/],
    ['a 1024-bit key', () => read('weak.key') + read('weak.pem') + read('inter.pem') + read('root.pem'), /1024 bits; at least 2048/],
    ['a client-only certificate', () => read('client-only.key') + read('client-only.pem') + read('inter.pem') + read('root.pem'), /lacks serverAuth/],
  ];
  for (const [what, content, message] of cases) {
    it(`refuses ${what}`, async () => {
      media('upload.pem', content());
      const result = await node.platform(['web', 'cert', 'add', 'upload.pem']);
      expect(result.stderr).toMatch(message);
      expect(result.status).toBe(2);
      expect(await served()).toBe(previous);
    });
  }

  it('warns about names that do not cover the node and asks before going on', async () => {
    media('other.pem', read('other-name.key') + read('other-name.pem') + read('inter.pem') + read('root.pem'));
    const refused = await node.platform(['web', 'cert', 'add', 'other.pem']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('do not cover this node (web01, web01.example.test');
    expect(await served()).toBe(previous);
    const accepted = await node.platform(['web', 'cert', 'add', 'other.pem', '--yes']);
    expect(accepted.status).toBe(0);
    expect(accepted.stdout).toContain('WARNING');
    expect(await served()).toBe(fingerprintOf(read('other-name.pem')));
    previous = await served();
  });

  it('keeps uploads inside the media folder', async () => {
    mkdirSync(join(node.home, 'media', 'dir'), { recursive: true });
    symlinkSync('/etc/passwd', join(node.home, 'media', 'link.pem'));
    symlinkSync('/etc', join(node.home, 'media', 'etclink'));
    const expectations: [string, RegExp][] = [
      // Names are never paths (store/names.ts): a separator is refused before anything is opened.
      ['../config.db', /path separator/],
      ['/etc/passwd', /path separator/],
      ['link.pem', /symbolic link/],
      ['etclink/passwd', /path separator/],
      ['dir', /is a folder/],
      ['nothing.pem', /does not exist/],
    ];
    for (const [name, message] of expectations) {
      const result = await node.platform(['web', 'cert', 'add', name]);
      expect(result.stderr, name).toMatch(message);
      expect(result.status, name).toBe(2);
    }
    media('huge.pem', Buffer.alloc(1024 * 1024 + 1, 'A'));
    expect((await node.platform(['web', 'cert', 'add', 'huge.pem'])).stderr).toContain('at most 1 MiB');
    expect(await served()).toBe(previous);
  });

  it('converts a DER certificate, and refuses it without a key', async () => {
    const der = execFileSync('openssl', ['x509', '-in', file('ec.pem'), '-outform', 'DER']);
    media('cert.der', der);
    const result = await node.platform(['web', 'cert', 'add', 'cert.der']);
    expect(result.stderr).toContain('no private key');
  });

  it('refuses SSLv3 honestly and offers the TLS minimum instead', async () => {
    const on = await node.platform(['web', 'sslv3', 'on']);
    expect(on.status).toBe(1);
    expect(on.stderr).toContain('SSLv3 cannot be enabled');
    const handshake = (maxVersion: 'TLSv1.2' | 'TLSv1.3') =>
      new Promise<boolean>((resolve) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: HTTPS, rejectUnauthorized: false, maxVersion }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
    expect(await handshake('TLSv1.2')).toBe(true);
    expect((await node.platform(['web', 'tls', 'minimum', '1.3'])).status).toBe(0);
    await new Promise((r) => setTimeout(r, 300)); // nginx reloads in the background
    expect(await handshake('TLSv1.2')).toBe(false);
    expect(await handshake('TLSv1.3')).toBe(true);
    expect((await node.platform(['web', 'tls', 'minimum', '1.2'])).status).toBe(0);
  });
});
