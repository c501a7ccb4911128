// Certificates against openssl, in the same run: making a key and a
// self-signed certificate, a key and a CSR; and the end-to-end time of the
// commands (`web cert gen_selfsigned`, `web cert add`) on a running node.

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModule, report, startNode, tempDir, time, timeCommand } from './lib.mjs';

const dir = tempDir('ps-certbench-');
const { newRsaKey, selfSigned, certificateRequest } = await loadModule('certs/generate.ts');
const details = { commonName: 'bench.example.test', organization: 'Bench', altNames: ['bench', '10.0.0.1'] };

const opensslSelfSigned = await timeCommand('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '730', '-subj', '/CN=bench.example.test', '-addext', 'subjectAltName=DNS:bench,IP:10.0.0.1']);
const opensslCsr = await timeCommand('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k2.pem'), '-out', join(dir, 'r.csr'), '-subj', '/CN=bench.example.test']);
const oursSelfSigned = await time(async () => selfSigned(details, await newRsaKey()));
const oursCsr = await time(async () => certificateRequest(details, await newRsaKey()));

// End to end on a node with its nginx.
const { home, platform, stop } = await startNode('ps-certbench-home-', 41000 + (process.pid % 1000));
try {
  platform('system', 'setup', '--hostname', 'bench', '--role', 'webproxy');
  const genCommand = await time(() => platform('web', 'cert', 'gen_selfsigned'), 5);
  // A CA-signed certificate with its own key, uploaded to media.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '30', '-subj', '/CN=Bench CA', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'leaf.key'), '-out', join(dir, 'leaf.csr'), '-subj', '/CN=bench'], { stdio: 'ignore' });
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=DNS:bench\n');
  execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'leaf.pem'), '-days', '20', '-extfile', join(dir, 'leaf.ext')], { stdio: 'ignore' });
  const bundle = ['leaf.key', 'leaf.pem', 'ca.pem'].map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  writeFileSync(join(home, 'media', 'signed.pem'), bundle);
  const addCommand = await time(() => platform('web', 'cert', 'add', 'signed.pem'), 5);
  report('certificates (median)', [
    { name: 'RSA-2048 key + self-signed certificate (in the daemon)', ms: oursSelfSigned, baselineName: 'openssl req -x509 -newkey rsa:2048', baselineMs: opensslSelfSigned, aim: '<= 1.3x' },
    { name: 'RSA-2048 key + CSR (in the daemon)', ms: oursCsr, baselineName: 'openssl req -new -newkey rsa:2048', baselineMs: opensslCsr, aim: '<= 1.3x' },
    { name: 'web cert gen_selfsigned, whole command (nginx reload + handshake)', ms: genCommand, baselineName: 'openssl req -x509 -newkey rsa:2048', baselineMs: opensslSelfSigned },
    { name: 'web cert add, whole command (checks + install + handshake)', ms: addCommand, baselineName: 'openssl req -x509 -newkey rsa:2048', baselineMs: opensslSelfSigned },
  ]);
} finally {
  await stop();
  rmSync(dir, { recursive: true, force: true });
}
