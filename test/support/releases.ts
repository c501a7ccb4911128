// Release files and product roots for tests: a signing key made at test time
// (never committed), releases written by the real `scripts/release.mjs`, and
// installed by the real `platform-release install`.

import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { MAGIC, readHeader } from '../../releases/container.js';
import { signManifest, type ReleaseManifest } from '../../releases/manifest.js';
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

/**
 * Another release made from a built one without building again: its version
 * (and package.json's) changed, some files replaced, the rest of its content
 * copied byte for byte; the manifest signed again with `key` (or changed by
 * `edit` first, for hostile manifests). One build per test file, the rest derived.
 */
export async function deriveRelease(
  original: string,
  out: string,
  key: TestKey,
  change: { version?: string; upgradesFrom?: string; replace?: Record<string, Buffer>; edit?: (manifest: Record<string, unknown>) => void; sign?: (bytes: Buffer) => Buffer; trailing?: Buffer },
): Promise<string> {
  const handle = await open(original, 'r');
  const header = await readHeader(handle);
  const manifest = JSON.parse(header.manifestBytes.toString('utf8')) as ReleaseManifest;
  const replace = { ...change.replace };
  if (change.version) {
    const pkg = manifest.files.findIndex((f) => f.path === 'package.json');
    const packageJson = JSON.parse(await readRange(handle, header.contentOffset + offsetOf(manifest, pkg), manifest.files[pkg]!.size));
    replace['package.json'] ??= Buffer.from(JSON.stringify({ ...packageJson, version: change.version }, null, 2) + '\n');
    manifest.version = change.version;
  }
  if (change.upgradesFrom) manifest.upgradesFrom = change.upgradesFrom;
  const sources: ({ at: number; size: number } | Buffer)[] = [];
  manifest.files.forEach((file, i) => {
    const bytes = replace[file.path];
    if (bytes) {
      sources.push(bytes);
      file.size = bytes.length;
      file.sha256 = createHash('sha256').update(bytes).digest('hex');
    } else sources.push({ at: header.contentOffset + offsetOf(JSON.parse(header.manifestBytes.toString('utf8')) as ReleaseManifest, i), size: file.size });
  });
  const edited = manifest as unknown as Record<string, unknown>;
  change.edit?.(edited);
  const manifestBytes = Buffer.from(JSON.stringify(edited));
  const signature = change.sign ? change.sign(manifestBytes) : signManifest(manifestBytes, readFileSync(key.privateKey, 'utf8'));
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const output = createWriteStream(out, { flags: 'w' });
  output.write(Buffer.concat([MAGIC, u32(manifestBytes.length), manifestBytes, u32(signature.length), signature]));
  for (const source of sources) {
    if (Buffer.isBuffer(source)) {
      if (!output.write(source)) await once(output, 'drain');
      continue;
    }
    if (source.size === 0) continue;
    for await (const chunk of createReadStream(original, { start: source.at, end: source.at + source.size - 1, highWaterMark: 1 << 20 })) {
      if (!output.write(chunk)) await once(output, 'drain');
    }
  }
  if (change.trailing) output.write(change.trailing);
  output.end();
  await once(output, 'close');
  await handle.close();
  return out;
}

function offsetOf(manifest: ReleaseManifest, index: number): number {
  let at = 0;
  for (let i = 0; i < index; i++) at += manifest.files[i]!.size;
  return at;
}

async function readRange(handle: FileHandle, at: number, size: number): Promise<string> {
  const buffer = Buffer.alloc(size);
  await handle.read(buffer, 0, size, at);
  return buffer.toString('utf8');
}

/** dist/platformd.js of a release file, as bytes. */
async function platformdOf(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const header = await readHeader(handle);
    const manifest = JSON.parse(header.manifestBytes.toString('utf8')) as ReleaseManifest;
    const index = manifest.files.findIndex((f) => f.path === 'dist/platformd.js');
    if (index < 0) throw new Error('no dist/platformd.js in the release');
    return Buffer.from(await readRange(handle, header.contentOffset + offsetOf(manifest, index), manifest.files[index]!.size), 'utf8');
  } finally {
    await handle.close();
  }
}

/**
 * A release of `original`'s content under a new version whose platformd
 * will not start on a node whose home (its --home) holds a file named
 * `fault`: a real fault, armed per node, for the health gate to catch.
 */
export async function releaseWithStartFault(original: string, out: string, key: TestKey, options: { version: string; fault: string }): Promise<string> {
  const hook = Buffer.from(
    `import { existsSync as faultArmed } from 'node:fs';\nif (faultArmed(process.argv[process.argv.indexOf('--home') + 1] + '/${options.fault}')) { console.error('platformd: ${options.fault} on this node'); process.exit(3); }\n`,
  );
  return deriveRelease(original, out, key, { version: options.version, replace: { 'dist/platformd.js': Buffer.concat([hook, await platformdOf(original)]) } });
}

