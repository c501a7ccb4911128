#!/usr/bin/env node
// Writes the release file platform-<version>.psup (README, "Keeping nodes
// current"): the built product, the Node runtime it runs on, the systemd
// units, the first boot's ruleset and a manifest signed with Ed25519.
//
//   npm run release -- [--key PRIVATE-KEY.pem] [--version V] [--upgrades-from V] [--out DIR]
//
// --key (or PLATFORM_RELEASE_KEY): the signing key. Without one, the
//   machine's development key (PLATFORM_RELEASE_DEV_KEY, default
//   /var/cache/platform-shell/release-dev-key.pem) is made once (its public
//   half beside it, .pub) — nodes trust it only when told to. It lives beside
//   the image cache, not in a checkout, so every clone on a machine signs
//   alike and a cached image (keyed by it) stays valid.
// --version: builds the product again with that version (default package.json's).
// --upgrades-from: the oldest running version it installs over (default MAJOR.0.0).

import './runtime.mjs';
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EXTERNAL_MODULES } from './externals.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEV_KEY = process.env.PLATFORM_RELEASE_DEV_KEY ?? '/var/cache/platform-shell/release-dev-key.pem';

function option(argv, name) {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
}

/** The development key, made once: private key 0600 and its public half beside it. */
export function devKey() {
  if (!existsSync(DEV_KEY)) {
    mkdirSync(dirname(DEV_KEY), { recursive: true });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(DEV_KEY, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    writeFileSync(`${DEV_KEY}.pub`, publicKey.export({ format: 'pem', type: 'spki' }), { mode: 0o644 });
  }
  return DEV_KEY;
}

/** The key releases are signed with when none is named: PLATFORM_RELEASE_KEY, else the development key. */
export const signingKey = () => process.env.PLATFORM_RELEASE_KEY ?? devKey();

/** Every regular file under `dir` (relative to ROOT); a link is refused: a release carries files only. */
function filesUnder(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => {
      if (e.isSymbolicLink()) throw new Error(`${join(e.parentPath, e.name)} is a link: a release carries files only`);
      return e.isFile();
    })
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

/**
 * The modules the bundles load from node_modules (EXTERNAL_MODULES), and
 * their dependencies, as Node resolves them: the rest of node_modules is
 * bundled into dist/ and never runs, so a release does not carry it (nor
 * stat and hash it at every start).
 */
function runtimeModules() {
  const found = new Set();
  const resolveFrom = (name, dir) => {
    for (let at = dir; ; at = dirname(at)) {
      const candidate = join(at, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (at === ROOT) return undefined;
    }
  };
  const add = (dir) => {
    if (!dir || found.has(dir)) return;
    found.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) add(resolveFrom(name, dir));
  };
  // Only what the product depends on: node-pty is the tests', react-devtools-core nobody's here.
  const product = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const name of EXTERNAL_MODULES) if (product.dependencies?.[name] || product.optionalDependencies?.[name]) add(resolveFrom(name, ROOT));
  // A module nested in another's node_modules comes with that one's files.
  const outermost = [...found].filter((dir) => ![...found].some((other) => other !== dir && dir.startsWith(`${other}/`)));
  return outermost.map((dir) => relative(ROOT, dir)).sort().flatMap((top) => filesUnder(top));
}

const modeOf = (file) => (statSync(file).mode & 0o111 ? 0o755 : 0o644);

export async function buildRelease(argv = []) {
  const keyFile = option(argv, 'key') ?? signingKey();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const version = option(argv, 'version') ?? pkg.version;
  const upgradesFrom = option(argv, 'upgrades-from') ?? `${version.split('.')[0]}.0.0`;
  const outDir = resolve(option(argv, 'out') ?? ROOT);
  // Under the checkout (.cache): the build there finds the checkout's node_modules.
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const work = mkdtempSync(join(ROOT, '.cache', 'release-'));
  try {
    // The product is built again for this version: its dist says the version it is.
    const dist = join(work, 'dist');
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, env: { ...process.env, PLATFORM_BUILD_OUT: dist, PLATFORM_BUILD_VERSION: version }, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`the build failed: ${build.stderr}`);
    const { writeRelease, releaseFileName, storeSchemaVersion, keyIdOf } = await import(pathToFileURL(join(dist, 'release-writer.js')).href);
    const ruleset = spawnSync(process.execPath, [join(dist, 'platformd.js'), '--print-default-ruleset'], { encoding: 'utf8' });
    if (ruleset.status !== 0) throw new Error(`the first boot's ruleset: ${ruleset.stderr}`);
    const sources = [
      { path: 'package.json', mode: 0o644, from: Buffer.from(JSON.stringify({ ...pkg, version }, null, 2) + '\n') },
      ...filesUnder('bin').map((path) => ({ path, mode: modeOf(join(ROOT, path)), from: join(ROOT, path) })),
      ...readdirSync(dist, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort().map((file) => ({ path: `dist/${relative(dist, file)}`, mode: 0o644, from: file })),
      ...['native/peercred/build/Release/peercred.node'].filter((p) => existsSync(join(ROOT, p))).map((path) => ({ path, mode: 0o755, from: join(ROOT, path) })),
      ...runtimeModules().map((path) => ({ path, mode: modeOf(join(ROOT, path)), from: join(ROOT, path) })),
      // The runtime the product was built with: its native addons match it.
      { path: '.runtime/node/bin/node', mode: 0o755, from: process.execPath },
      ...readdirSync(join(ROOT, 'packer', 'systemd')).sort().map((name) => ({ path: `systemd/${name}`, mode: modeOf(join(ROOT, 'packer', 'systemd', name)), from: join(ROOT, 'packer', 'systemd', name) })),
      { path: 'default-ruleset.nft', mode: 0o644, from: Buffer.from(ruleset.stdout) },
    ];
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, releaseFileName(version));
    rmSync(out, { force: true });
    const manifest = writeRelease(
      out,
      { version, storeSchema: storeSchemaVersion, upgradesFrom, node: process.versions.node, builtAt: new Date().toISOString(), keyId: keyIdOf(createPublicKey(readFileSync(keyFile, 'utf8'))) },
      sources,
      readFileSync(keyFile, 'utf8'),
    );
    return { file: out, manifest };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { file, manifest } = await buildRelease(process.argv.slice(2));
  const bytes = statSync(file).size;
  console.log(`${file}: platform-shell ${manifest.version} (upgrades from ${manifest.upgradesFrom}, store schema ${manifest.storeSchema}, Node ${manifest.node}), ${manifest.files.length} files, ${(bytes / 1048576).toFixed(1)} MiB, key ${manifest.keyId}`);
}
