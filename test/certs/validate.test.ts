// The upload checks of `web cert add`, one by one, on certificates made
// here with openssl (a throwaway root and intermediate CA).

import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkServerAuth, checkStrength, checkValidity, findLeaf, keyMatches, namesCovering, networkNameMismatch, networkNames, orderChain, readBundle } from '../../certs/validate.js';
import { tempHome } from '../support/daemon.js';

const dir = tempHome('ps-certval-');
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const pem = (name: string) => readFileSync(join(dir, name), 'utf8');
const cert = (name: string) => new X509Certificate(pem(name));
const key = (name: string) => createPrivateKey(pem(name));
const EC = ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

function issue(name: string, keyArgs: string[], issuer: string, ext: string) {
  openssl('req', '-new', '-newkey', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), ext + '\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '30', '-extfile', `${name}.ext`);
}

const CA_EXT = 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign';
beforeAll(() => {
  openssl('req', '-x509', '-newkey', ...EC, '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '30', '-subj', '/CN=root', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign');
  issue('inter', EC, 'root', CA_EXT);
  issue('ecleaf', EC, 'inter', 'subjectAltName=DNS:web01.example.test,IP:192.0.2.7\nextendedKeyUsage=serverAuth');
  issue('rsaleaf', ['rsa:2048'], 'inter', 'subjectAltName=DNS:*.example.test');
  issue('weak', ['rsa:1024'], 'inter', 'subjectAltName=DNS:web01');
  issue('p192', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-192'], 'inter', 'subjectAltName=DNS:web01');
  issue('client', EC, 'inter', 'extendedKeyUsage=clientAuth');
  issue('other', EC, 'root', 'subjectAltName=DNS:other');
});

describe('reading an upload', () => {
  it('finds certificates and keys in one PEM file, CRLF or not', () => {
    const bundle = readBundle(Buffer.from((pem('ecleaf.key') + pem('ecleaf.pem') + pem('inter.pem')).replace(/\n/g, '\r\n')));
    expect(bundle.certificates).toHaveLength(2);
    expect(bundle.keys).toHaveLength(1);
  });

  it('converts a DER certificate', () => {
    const der = openssl('x509', '-in', 'ecleaf.pem', '-outform', 'DER');
    expect(readBundle(der).certificates[0]!.fingerprint256).toBe(cert('ecleaf.pem').fingerprint256);
  });

  it('refuses garbage, a broken block, a file without a certificate and an encrypted key, each with its own message', () => {
    expect(() => readBundle(Buffer.from('not a certificate'))).toThrow(/neither PEM nor a DER certificate/);
    expect(() => readBundle(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))).toThrow(/does not parse/);
    expect(() => readBundle(Buffer.from(pem('ecleaf.key')))).toThrow(/holds no certificate/);
    openssl('pkcs8', '-topk8', '-in', 'ecleaf.key', '-out', 'enc.key', '-passout', 'pass:secret');
    expect(() => readBundle(Buffer.from(pem('enc.key') + pem('ecleaf.pem')))).toThrow(/encrypted/);
  });
});

describe('the chain', () => {
  it('puts the leaf first whatever the order in the file', () => {
    const chain = orderChain([cert('root.pem'), cert('ecleaf.pem'), cert('inter.pem')]);
    expect(chain.map((c) => c.subject)).toEqual(['CN=ecleaf', 'CN=inter', 'CN=root']);
    expect(findLeaf([cert('inter.pem'), cert('rsaleaf.pem')]).subject).toBe('CN=rsaleaf');
  });

  it('refuses a missing intermediate, an unrelated certificate and two leaves', () => {
    expect(() => orderChain([cert('ecleaf.pem'), cert('root.pem')])).toThrow(/stops at "ecleaf".*add the missing intermediate/);
    expect(() => orderChain([cert('ecleaf.pem'), cert('inter.pem'), cert('root.pem'), cert('other.pem')])).toThrow(/2 unrelated server certificates/);
    openssl('req', '-x509', '-newkey', ...EC, '-nodes', '-keyout', 'ca2.key', '-out', 'ca2.pem', '-days', '30', '-subj', '/CN=ca2', '-addext', 'basicConstraints=critical,CA:true');
    expect(() => orderChain([cert('ecleaf.pem'), cert('inter.pem'), cert('root.pem'), cert('ca2.pem')])).toThrow(/"ca2" is not part of the chain of "ecleaf"/);
  });
});

describe('the key and the certificate', () => {
  it('matches keys by public key, RSA and EC alike', () => {
    expect(keyMatches(cert('ecleaf.pem'), key('ecleaf.key'))).toBe(true);
    expect(keyMatches(cert('rsaleaf.pem'), key('rsaleaf.key'))).toBe(true);
    expect(keyMatches(cert('ecleaf.pem'), key('client.key'))).toBe(false);
    expect(keyMatches(cert('rsaleaf.pem'), key('weak.key'))).toBe(false);
    expect(keyMatches(cert('rsaleaf.pem'), key('ecleaf.key'))).toBe(false);
  });

  it('demands RSA-2048 or P-256 and stronger', () => {
    expect(() => checkStrength(cert('weak.pem').publicKey)).toThrow(/1024 bits; at least 2048/);
    expect(() => checkStrength(cert('p192.pem').publicKey)).toThrow(/prime192v1; P-256 or stronger/);
    expect(() => checkStrength(cert('rsaleaf.pem').publicKey)).not.toThrow();
    expect(() => checkStrength(cert('ecleaf.pem').publicKey)).not.toThrow();
  });

  it('demands a certificate valid now', () => {
    const c = cert('ecleaf.pem');
    expect(() => checkValidity(c)).not.toThrow();
    expect(() => checkValidity(c, new Date(Date.now() + 40 * 86_400_000))).toThrow(/expired at/);
    expect(() => checkValidity(c, new Date(Date.now() - 86_400_000))).toThrow(/not valid before/);
  });

  it('demands serverAuth when extended key usage is present', () => {
    expect(() => checkServerAuth(cert('client.pem'))).toThrow(/lacks serverAuth/);
    expect(() => checkServerAuth(cert('ecleaf.pem'))).not.toThrow();
    expect(() => checkServerAuth(cert('rsaleaf.pem'))).not.toThrow(); // no extension at all
  });

  it('tells which of the node names and addresses the certificate covers, wildcards included', () => {
    expect(namesCovering(cert('ecleaf.pem'), ['web01', 'web01.example.test'], ['192.0.2.7'])).toEqual(['web01.example.test', '192.0.2.7']);
    expect(namesCovering(cert('rsaleaf.pem'), ['web01', 'web01.example.test'], [])).toEqual(['web01.example.test']);
    expect(namesCovering(cert('other.pem'), ['web01', 'web01.example.test'], ['192.0.2.7'])).toEqual([]);
  });
});

describe("the node's network name (seed 003: certificates must match it)", () => {
  it('is the host name, and the full name with a domain', () => {
    expect(networkNames({ hostname: 'web01' })).toEqual(['web01']);
    expect(networkNames({ hostname: 'web01', domain: 'example.test' })).toEqual(['web01', 'web01.example.test']);
  });

  it('is matched by a certificate for either, a wildcard included, and not after a rename', () => {
    expect(networkNameMismatch(cert('ecleaf.pem'), networkNames({ hostname: 'web01', domain: 'example.test' }))).toBeUndefined();
    expect(networkNameMismatch(cert('rsaleaf.pem'), networkNames({ hostname: 'web02', domain: 'example.test' }))).toBeUndefined();
    expect(networkNameMismatch(cert('ecleaf.pem'), networkNames({ hostname: 'web02', domain: 'example.test' }))).toBe(
      "the web certificate is for DNS:web01.example.test, IP Address:192.0.2.7, not for this node's network name web02.example.test",
    );
  });
});
