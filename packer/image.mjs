// Builds the node image offline, or takes it from the cache: the base disk
// (packer/base-disk.sh, from Debian's packages) and then `packer build
// -only=qemu.offline`, which provisions it as the ISO source is provisioned.
// Each is cached under a hash of its inputs, so a run with no image change
// builds nothing. Used by the image test (npm test), the benchmark, and by hand:
//   .runtime/node/bin/node packer/image.mjs     prints the image, its sha256 file and manifest
// Environment:
//   PLATFORM_IMAGE_CACHE   the cache folder (default /var/cache/platform-shell/images)
//   PLATFORM_IMAGE_ACCEL   QEMU accelerator for the build: tcg (default here) or kvm

import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = process.env.PLATFORM_IMAGE_CACHE ?? '/var/cache/platform-shell/images';
export const ACCELERATOR = process.env.PLATFORM_IMAGE_ACCEL ?? 'tcg';
/** How many built images, and base disks, the cache keeps (about 1 GB and 0.4 GB each). */
const KEEP = { images: 3, baseDisks: 2 };

const files = (dir) =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();

function hashFile(hash, path) {
  return new Promise((resolve, reject) => {
    hash.update(`${relative(ROOT, path)}\0`);
    createReadStream(path)
      .on('data', (d) => hash.update(d))
      .on('end', resolve)
      .on('error', reject);
  });
}

async function keyOf(paths, extra = '') {
  const hash = createHash('sha256').update(extra);
  for (const path of paths) await hashFile(hash, path);
  return hash.digest('hex').slice(0, 16);
}

/** Runs a program, its output to `log` line by line; rejects with the tail of it on failure. */
function run(cmd, args, { log = () => {}, env = process.env, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const take = (d) => {
      const text = d.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) log(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.slice(0, 2).join(' ')} exited ${code}:\n${tail}`))));
  });
}

/** The base disk: built once per version of base-disk.sh and the bare root it starts from. */
export async function ensureBaseDisk({ log } = {}) {
  const script = join(ROOT, 'packer', 'base-disk.sh');
  const path = join(CACHE_DIR, `base-${await keyOf([script, join(ROOT, 'packer', 'bare-root.sh')])}.qcow2`);
  if (existsSync(path)) return { path, built: false, seconds: 0 };
  mkdirSync(CACHE_DIR, { recursive: true });
  const start = Date.now();
  await run('bash', [script, path], { log });
  prune(/^base-[0-9a-f]+\.qcow2$/, KEEP.baseDisks);
  return { path, built: true, seconds: (Date.now() - start) / 1000 };
}

/**
 * The product as the image gets it: the release file (scripts/release.mjs,
 * signed by PLATFORM_RELEASE_KEY or the development key) installed by the
 * release tool into a product root, which is packed as it is. An image and
 * an upgrade thus carry the same files, byte for byte, checked the same way.
 */
export async function productRootTarball(dir, tarball = join(dir, 'platform-shell.tgz')) {
  const { buildRelease, signingKey } = await import('../scripts/release.mjs');
  const { file } = await buildRelease(['--out', dir]);
  const privateKey = signingKey();
  const publicKey = join(dir, 'release-key.pub.pem');
  writeFileSync(publicKey, createPublicKey(readFileSync(privateKey, 'utf8')).export({ format: 'pem', type: 'spki' }));
  const productRoot = join(dir, 'product-root');
  const installed = spawnSync(process.execPath, [join(ROOT, 'bin', 'platform-release.js'), 'install', file, '--product-root', productRoot, '--key', publicKey], { encoding: 'utf8' });
  if (installed.status !== 0) throw new Error(`platform-release install: ${installed.stderr}`);
  rmSync(file);
  const result = spawnSync('tar', ['-czf', tarball, '-C', productRoot, '.'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar: ${result.stderr}`);
  rmSync(productRoot, { recursive: true, force: true });
  return tarball;
}

/**
 * The node image: built when anything it is made from changed (base disk,
 * template, provisioning, units, the built product, its modules, the node binary).
 */
export async function ensureImage({ log = () => {} } = {}) {
  if (!existsSync(join(ROOT, 'dist', 'platformd.js'))) throw new Error('build the product first (npm run build)');
  // The image carries the runtime that runs this build; its native addons were built for it.
  const required = /\d+/.exec(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node)[0];
  if (process.versions.node.split('.')[0] !== required) throw new Error(`build the image with the project's runtime (Node ${required}: .runtime/node/bin/node), not ${process.execPath} (${process.version})`);
  const base = await ensureBaseDisk({ log });
  const nodeBinary = process.execPath;
  const inputs = [
    join(ROOT, 'packer', 'platform.pkr.hcl'),
    join(ROOT, 'packer', 'scripts', 'provision.sh'),
    join(ROOT, 'scripts', 'release.mjs'),
    ...files(join(ROOT, 'releases')),
    ...files(join(ROOT, 'packer', 'systemd')),
    ...files(join(ROOT, 'dist')),
    ...files(join(ROOT, 'bin')),
    join(ROOT, 'package.json'),
    join(ROOT, 'package-lock.json'),
    nodeBinary,
  ];
  // The image trusts the key its release is signed with: another key, another image.
  const { signingKey } = await import('../scripts/release.mjs');
  const trusted = createPublicKey(readFileSync(signingKey(), 'utf8')).export({ format: 'pem', type: 'spki' });
  const key = await keyOf(inputs, `${base.path}\0${ACCELERATOR === 'kvm' ? 'kvm' : 'tcg'}\0${trusted}`);
  const dir = join(CACHE_DIR, `platform-${key}`);
  const found = describe(dir);
  if (found) return { ...found, baseDisk: base, built: false, packerSeconds: 0 };

  const work = mkdtempSync(join(CACHE_DIR, `.build-${process.pid}-`));
  try {
    const start = Date.now();
    const tarball = await productRootTarball(work);
    const out = join(work, 'out');
    // The ISO source's required variables (its ISO and mirror) mean nothing offline, but Packer wants every variable set.
    const isoSourceUnused = ['iso_url', 'mirror_host', 'mirror_directory'].flatMap((name) => ['-var', `${name}=`]);
    await run(
      'packer',
      ['build', '-only=qemu.offline', '-var', `base_disk=${base.path}`, '-var', `accelerator=${ACCELERATOR}`, '-var', `node_binary=${nodeBinary}`, '-var', `product_tarball=${tarball}`, '-var', `output_directory=${out}`, ...isoSourceUnused, 'packer/platform.pkr.hcl'],
      { log, env: { ...process.env, PACKER_CACHE_DIR: join(work, 'packer_cache'), CHECKPOINT_DISABLE: '1', PACKER_NO_COLOR: '1' } },
    );
    rmSync(tarball);
    rmSync(join(work, 'packer_cache'), { recursive: true, force: true });
    renameSync(out, dir);
    prune(/^platform-[0-9a-f]+$/, KEEP.images);
    return { ...describe(dir), baseDisk: base, built: true, packerSeconds: (Date.now() - start) / 1000 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The files of a built image in its cache folder, or undefined. */
function describe(dir) {
  if (!existsSync(dir)) return undefined;
  const names = readdirSync(dir);
  const image = names.find((n) => n.endsWith('.qcow2'));
  const sha256 = names.find((n) => n.endsWith('.sha256'));
  const manifest = names.find((n) => n.endsWith('.manifest.json'));
  if (!image || !sha256 || !manifest) return undefined;
  return { image: join(dir, image), sha256File: join(dir, sha256), manifestFile: join(dir, manifest), manifest: JSON.parse(readFileSync(join(dir, manifest), 'utf8')) };
}

/** Keeps the newest `keep` finished entries named like `pattern` (built images, or base disks); work in progress is never touched. */
function prune(pattern, keep) {
  const built = readdirSync(CACHE_DIR)
    .filter((n) => pattern.test(n))
    .map((n) => ({ path: join(CACHE_DIR, n), at: statSync(join(CACHE_DIR, n)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of built.slice(keep)) rmSync(old.path, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--product-root-tarball') {
  // packer/test-in-debootstrap.sh: the product root alone, into the file named.
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.cache', 'product-root-'));
  try {
    await productRootTarball(dir, process.argv[3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await ensureImage({ log: (line) => console.error(line) });
  console.log(JSON.stringify({ image: result.image, sha256File: result.sha256File, manifestFile: result.manifestFile, built: result.built, baseDiskBuilt: result.baseDisk.built, baseDiskSeconds: result.baseDisk.seconds, packerSeconds: result.packerSeconds }, null, 2));
}
