// Release files and product roots for tests: a signing key made at test time
// (never committed), releases written by the real `scripts/release.mjs`, and
// installed by the real `platform-release install`.

import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './daemon.js';

export interface TestKey {
  privateKey: string;
  publicKey: string;
}

/** An Ed25519 key pair made now, written into `dir` (private 0600). */
export function makeKey(dir: string, name = 'release-key'): TestKey {
  const pair = generateKeyPairSync('ed25519');
  const privateKey = join(dir, `${name}.pem`);
  const publicKey = join(dir, `${name}.pub.pem`);
  writeFileSync(privateKey, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(publicKey, pair.publicKey.export({ format: 'pem', type: 'spki' }));
  return { privateKey, publicKey };
}

function run(args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${args.slice(0, 2).join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** `npm run release` as a release maker runs it: returns the file written. */
export async function buildRelease(outDir: string, version: string, key: TestKey, extra: string[] = []): Promise<string> {
  await run([join(ROOT, 'scripts', 'release.mjs'), '--key', key.privateKey, '--version', version, '--out', outDir, ...extra]);
  const file = join(outDir, `platform-${version}.psup`);
  if (!existsSync(file)) throw new Error(`no ${file}`);
  return file;
}

/** Installs a release into a product root and trusts the key, as an image build does. */
export function installRelease(productRoot: string, file: string, key: TestKey): Promise<string> {
  return run([join(ROOT, 'bin', 'platform-release.js'), 'install', file, '--product-root', productRoot, '--key', key.publicKey]);
}

/** The boot path: what platformd.service's ExecStartPre runs before platformd (the previous release's tool when there is one). */
export function bootPath(productRoot: string): Promise<string> {
  const from = existsSync(join(productRoot, 'previous')) ? 'previous' : 'current';
  return run([join(productRoot, from, 'bin', 'platform-release.js'), 'recover', '--product-root', productRoot]);
}

/** Stops the platformd of a home by its pid file (one the upgrade runner started). */
export async function stopByPidFile(home: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(home, 'run', 'platformd.pid'), 'utf8').trim());
  } catch {
    return;
  }
  if (!(pid > 0)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    const nginx = Number(readFileSync(join(home, 'run', 'nginx.pid'), 'utf8').trim());
    if (nginx > 0 && readFileSync(`/proc/${nginx}/cmdline`, 'utf8').includes(home)) process.kill(nginx, 'SIGQUIT');
  } catch {
    // nginx stopped with its daemon
  }
}
