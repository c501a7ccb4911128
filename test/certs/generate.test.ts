// Keys, self-signed certificates and CSRs made by the product, checked by
// openssl itself; and the expiry policy the banner and the daemon follow.

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateRequest, newRsaKey, requestMatchesDetails, selfSigned } from '../../certs/generate.js';
import { expiryState, expiryWarningStart, nextExpiryCheckMs } from '../../certs/expiry.js';
import { tempHome } from '../support/daemon.js';

const dir = tempHome('ps-certgen-');
const details = { commonName: 'web01.example.test', organization: 'Example Ltd', country: 'ZA', altNames: ['web01', '192.0.2.7'] };

describe('generation', () => {
  it('makes a native RSA-2048 key and a self-signed certificate openssl accepts', async () => {
    const key = await newRsaKey();
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const pem = await selfSigned(details, key, 10);
    const cert = new X509Certificate(pem);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:web01.example.test, DNS:web01, IP Address:192.0.2.7');
    expect(cert.subject).toContain('O=Example Ltd');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(cert.validTo).getTime() - Date.now()).toBeGreaterThan(9.9 * 86_400_000);
    writeFileSync(join(dir, 'self.pem'), pem);
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'self.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toContain('sha256WithRSAEncryption');
    expect(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'self.pem'), '-partial_chain', join(dir, 'self.pem')], { encoding: 'utf8' })).toContain('OK');
  });

  it('makes a CSR whose signature openssl verifies, with the names requested', async () => {
    const csr = await certificateRequest(details, await newRsaKey());
    writeFileSync(join(dir, 'r.csr'), csr);
    const check = spawnSync('openssl', ['req', '-in', join(dir, 'r.csr'), '-noout', '-verify', '-text'], { encoding: 'utf8' });
    expect(check.stderr).toContain('verify OK');
    const out = check.stdout;
    expect(out).toContain('DNS:web01.example.test, DNS:web01, IP Address:192.0.2.7');
    expect(out).toMatch(/Subject: CN ?= ?web01\.example\.test, O ?= ?Example Ltd, C ?= ?ZA/);
  });

  it('writes PEM with LF line endings, as openssl and nginx expect (forge writes CR LF)', async () => {
    const key = await newRsaKey();
    for (const pem of [await certificateRequest(details, key), await selfSigned(details, key)]) {
      expect(pem).not.toContain('\r');
      expect(pem.split('\n')[0]).toMatch(/^-----BEGIN [A-Z ]+-----$/);
    }
  });

  it('makes a CSR with an e-mail address and non-ASCII names that "openssl ca" signs (emailAddress as IA5String)', async () => {
    const withEmail = { ...details, organization: 'Société Exemple & Cie', email: 'pki@example.test' };
    writeFileSync(join(dir, 'email.csr'), await certificateRequest(withEmail, await newRsaKey()));
    writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial.txt\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\norganizationName = optional\ncountryName = optional\nemailAddress = optional\n');
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial.txt'), '1000\n');
    const openssl = (...args: string[]) => spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test CA');
    const signed = openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'email.csr', '-out', 'email.pem', '-days', '1');
    expect(signed.stderr).not.toContain('needs to be of type');
    expect(signed.status, signed.stderr).toBe(0);
    const cert = new X509Certificate(readFileSync(join(dir, 'email.pem')));
    expect(cert.subject).toContain('emailAddress=pki@example.test');
    expect(cert.subject).toContain('O=Société Exemple & Cie');
  });

  it('tells whether a CSR still asks for the details kept now', async () => {
    const csr = await certificateRequest({ ...details, email: 'pki@example.test', organization: 'Société' }, await newRsaKey());
    expect(await requestMatchesDetails(csr, { ...details, email: 'pki@example.test', organization: 'Société' })).toBe(true);
    expect(await requestMatchesDetails(csr, { ...details, email: 'pki@example.test', organization: 'Other' })).toBe(false);
    expect(await requestMatchesDetails(csr, { ...details, email: 'pki@example.test', organization: 'Société', altNames: ['web02'] })).toBe(false);
  });
});

describe('expiry policy', () => {
  const day = 86_400_000;
  const from = new Date('2026-01-01T00:00:00Z');
  const after = (days: number) => new Date(from.getTime() + days * day);

  it('warns from 30 days before expiry for long-lived certificates', () => {
    const dates = { notBefore: from, notAfter: after(730) };
    expect(expiryWarningStart(dates.notBefore, dates.notAfter)).toEqual(after(700));
    expect(expiryState(dates, after(699))).toBe('valid');
    expect(expiryState(dates, after(701))).toBe('expiring');
    expect(expiryState(dates, after(730))).toBe('expired');
  });

  it('warns from 30 days before expiry whatever the lifetime (the seed), short-lived certificates included', () => {
    expect(expiryWarningStart(from, after(45))).toEqual(after(15));
    expect(expiryState({ notBefore: from, notAfter: after(45) }, after(14))).toBe('valid');
    expect(expiryState({ notBefore: from, notAfter: after(45) }, after(16))).toBe('expiring');
    // Issued for 29 days: announced from its first day.
    expect(expiryState({ notBefore: from, notAfter: after(29) }, after(0))).toBe('expiring');
  });

  it('looks daily, hourly in the last day and after expiry, and at the moment the warning starts', () => {
    const dates = { notBefore: from, notAfter: after(730) };
    expect(nextExpiryCheckMs(dates, after(100))).toBe(day);
    expect(nextExpiryCheckMs(dates, new Date(after(700).getTime() - 5000))).toBe(5000);
    expect(nextExpiryCheckMs(dates, new Date(after(730).getTime() - 2 * 3600_000))).toBe(3600_000);
    expect(nextExpiryCheckMs(dates, after(800))).toBe(3600_000);
  });
});
