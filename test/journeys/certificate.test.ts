// The administrator's first day, the web certificate (seed 003, "Set Up a Web
// Certificate"), done as a person does it: in the real console, in a
// pseudo-terminal, typing keys and reading the screen. The details are
// answered question by question (one answered wrong, and asked again), the
// CSR is copied from the screen, a CA made here signs it with `openssl ca`,
// the reply lands in media/ and `web cert add` puts it in service; `openssl
// s_client` against the node's nginx must get it back. Then a certificate
// with 29 days left (a second gen_csr asks before replacing the pending key)
// makes the banner say when it expires.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTime } from '../../core/time.js';
import { PLATFORM, freePort, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';
import { openTerminal, type Terminal } from '../support/pty.js';

const HTTPS = freePort();
const PROMPT = 'platform@web01:~$';
const CTRL_U = '\x15';
const ca = tempHome('ps-journey-ca-');
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: ca, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

let node: RunningDaemon;
let term: Terminal;

beforeAll(async () => {
  // A CA of the test's own, and `openssl ca`'s minimal configuration: keep the CSR's names (copy_extensions) and its e-mail.
  writeFileSync(join(ca, 'ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial.txt\ndefault_md = sha256\npolicy = any\ncopy_extensions = copy\nunique_subject = no\n[any]\ncommonName = supplied\norganizationName = optional\nemailAddress = optional\n');
  writeFileSync(join(ca, 'index.txt'), '');
  writeFileSync(join(ca, 'serial.txt'), '1000\n');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '365', '-subj', '/CN=Journey Test CA', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  node = await startDaemon({ args: ['--web-port', String(HTTPS), '--http-port', String(freePort())] });
  expect((await node.platform(['system', 'setup', '--hostname', 'web01', '--domain', 'example.test', '--role', 'webproxy'])).status).toBe(0);
});
afterAll(async () => {
  term?.kill();
  await node?.stop();
});

/** Opens the console and waits for its prompt. */
async function login(): Promise<Terminal> {
  term = openTerminal(process.execPath, [PLATFORM, '--home', node.home]);
  await term.waitFor(PROMPT);
  return term;
}

/** Types a line and waits for what it should show (`from` the moment it was typed). */
async function type(line: string, expected: RegExp | string, timeout = 30_000): Promise<number> {
  const mark = term.screen().length;
  term.write(`${line}\r`);
  return term.waitFor(expected, { from: mark, timeout });
}

/** Where on the screen the next question is to be looked for: after the last answer was typed. */
let asked = 0;

/** Waits for the console to ask `question`, then answers it, replacing the value it offers. */
async function answer(question: string, value: string): Promise<void> {
  await term.waitFor(`${question}: `, { from: asked });
  asked = term.screen().length;
  term.write(`${CTRL_U}${value}\r`);
}

/** The last CSR drawn on the screen, as a person selects and copies it: the lines between the markers, trimmed. */
function csrFromScreen(): string {
  const screen = term.screen();
  const end = screen.lastIndexOf('-----END CERTIFICATE REQUEST-----');
  const begin = screen.lastIndexOf('-----BEGIN CERTIFICATE REQUEST-----', end);
  expect(begin).toBeGreaterThanOrEqual(0);
  const lines = screen.slice(begin, end).split('\n').map((l) => l.trim()).filter(Boolean);
  return [...lines, '-----END CERTIFICATE REQUEST-----', ''].join('\n');
}

/** Signs a CSR with the test's CA; the reply holds the leaf and the CA, as a CA sends it. */
function signWithCa(csr: string, name: string, validity: string[]): X509Certificate {
  writeFileSync(join(ca, `${name}.csr`), csr);
  openssl('ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.pem`, ...validity);
  const leaf = execFileSync('openssl', ['x509', '-in', join(ca, `${name}.pem`)], { encoding: 'utf8' });
  writeFileSync(join(node.home, 'media', `${name}.pem`), leaf + openssl('x509', '-in', 'ca.pem'));
  return new X509Certificate(leaf);
}

/** What a TLS client gets from the node's nginx: openssl s_client, checked against the CA and the node's name. */
function handshake(): { served: X509Certificate; verified: boolean } {
  const result = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${HTTPS}`, '-servername', 'web01.example.test', '-CAfile', join(ca, 'ca.pem'), '-verify_hostname', 'web01.example.test'], {
    input: '',
    encoding: 'utf8',
    timeout: 15_000,
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.stdout)?.[0];
  expect(pem, result.stdout + result.stderr).toBeDefined();
  return { served: new X509Certificate(pem!), verified: /Verify return code: 0 \(ok\)/.test(result.stdout) };
}

describe('setting up a web certificate in the console (seed 003)', () => {
  it('details edit, gen_csr, the CSR copied from the screen and signed by a CA, web cert add, and nginx serves it', async () => {
    await login();

    // Step 1: the details, answered one by one; a wrong country is refused on the spot and asked again.
    asked = term.screen().length;
    term.write('web cert details edit\r');
    await answer('CN', 'web01.example.test');
    await answer('O', 'Example Ltd');
    await answer('OU', 'Voice');
    await answer('L', 'Johannesburg');
    await answer('ST', 'Gauteng');
    await answer('C', 'South Africa');
    asked = await term.waitFor('C "South Africa" is longer than 2 characters; try again', { from: asked });
    await answer('C', 'ZA');
    await answer('email', 'pki@example.test');
    await term.waitFor('SAN (comma-separated): web01,web01.example.test', { from: asked });
    const mark = term.screen().length;
    term.write('\r'); // the names offered (the node's and its address) are kept
    await term.waitFor(/O: Example Ltd[\s\S]*C: ZA[\s\S]*email: pki@example\.test[\s\S]*SAN: web01, web01\.example\.test/, { from: mark });
    await term.waitFor(PROMPT, { from: mark });

    // Step 2: the CSR, shown on the screen.
    await type('web cert gen_csr', '-----END CERTIFICATE REQUEST-----');
    const csr = csrFromScreen();
    expect(csr).not.toContain('\\r');

    // Step 3: the CA signs what was copied (openssl ca refuses an e-mail address that is not an IA5String).
    const signed = signWithCa(csr, 'web01', ['-days', '365']);
    expect(signed.subject).toContain('emailAddress=pki@example.test');
    expect(signed.subject).toContain('O=Example Ltd');
    expect(signed.subjectAltName).toContain('DNS:web01.example.test');

    // Steps 4 and 5: the reply is in media/; web cert add puts it in service.
    await type('web cert add web01.pem', /installed and served: .*CN=web01\.example\.test/);
    await term.waitFor(PROMPT, { from: term.screen().length - 200 });

    // A TLS client gets exactly that certificate, trusted through the CA, for the node's name.
    const { served, verified } = handshake();
    expect(served.fingerprint256).toBe(signed.fingerprint256);
    expect(verified).toBe(true);
  });

  it('shows "WEB CERT EXPIRES AT" on the banner once the certificate has 29 days left', async () => {
    expect(term.screen()).not.toContain('WEB CERT EXPIRES AT');
    await type('web cert gen_csr', '-----END CERTIFICATE REQUEST-----');
    const pending = csrFromScreen();
    // A second gen_csr would replace the pending key: the console asks, and no keeps it.
    await type('web cert gen_csr', 'A certificate request is already pending');
    const mark = term.screen().length;
    term.write('n\r');
    await term.waitFor('the pending certificate request is kept', { from: mark });
    await type('web cert print_csr', '-----END CERTIFICATE REQUEST-----');
    expect(csrFromScreen()).toBe(pending);
    const shortLived = signWithCa(pending, 'web01-29d', ['-days', '29']);
    await type('web cert add web01-29d.pem', 'installed and served');
    expect(handshake().served.fingerprint256).toBe(shortLived.fingerprint256);

    const expiry = `WEB CERT EXPIRES AT: ${formatTime(shortLived.validTo)}`;
    await type('help', expiry);
    term.write('exit\r');
    expect(await term.exited).toBe(0);

    // And at the next login, on the banner the console opens with.
    await login();
    const banner = term.screen();
    expect(banner.slice(0, banner.indexOf(PROMPT))).toContain(expiry);
    term.write('exit\r');
    expect(await term.exited).toBe(0);
  });
});
