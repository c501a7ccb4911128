// A real, signed apt repository built at test time, and an OS root of its own
// for apt and dpkg to change (never this machine's packages): small packages
// made with dpkg-deb in two versions, version 1 installed into the root with
// `dpkg --root`, version 2 indexed with apt-ftparchive and signed (InRelease)
// with a throw-away gpg key. A second key signs nothing: the wrong key. A
// small HTTP server serves the repository and remembers who asked through
// which proxy (the Via header tinyproxy adds).

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';

/** The test packages: `snmpd` is a stand-in of the real one (in the test's root only), so the restart table has a unit to name. */
export const PACKAGES = ['platform-demo', 'snmpd'] as const;

export interface TestRepository {
  dir: string;
  /** The repository (dists/, pool/), served as file:// or over HTTP. */
  repo: string;
  /** The OS root: version 1 of each package installed. */
  root: string;
  /** The signing key, armoured (what an administrator uploads to media). */
  key: string;
  /** A key that signs nothing here. */
  otherKey: string;
  /** The key's secret part: never a source's key. */
  secretKey: string;
}

const run = (file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => execFileSync(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function buildPackage(dir: string, name: string, version: string, postinst?: string): string {
  const tree = join(dir, 'build', `${name}-${version}`);
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
  if (postinst) writeFileSync(join(tree, 'DEBIAN', 'postinst'), postinst, { mode: 0o755 });
  mkdirSync(join(tree, 'usr', 'share', name), { recursive: true });
  writeFileSync(join(tree, 'usr', 'share', name, 'version'), `${version}\n`);
  writeFileSync(join(tree, 'DEBIAN', 'control'), `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: Test <test@example.test>\nDescription: a package of the security tests\n`);
  const deb = join(dir, `${name}_${version}_all.deb`);
  run('dpkg-deb', ['-Zgzip', '--root-owner-group', '--build', tree, deb]);
  return deb;
}

function gpgHome(dir: string, name: string): NodeJS.ProcessEnv {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return { ...process.env, GNUPGHOME: home };
}

/** A package whose version 2 fails to configure (its postinst exits 1): an update that stops half-way. */
export const BROKEN = 'platform-broken';

/** Builds the repository, the keys and the root under `dir`; `broken` adds BROKEN to it. */
export function buildRepository(dir: string, options: { broken?: boolean } = {}): TestRepository {
  const repo = join(dir, 'repo');
  const root = join(dir, 'root');
  mkdirSync(join(repo, 'pool'), { recursive: true });
  for (const sub of ['info', 'updates', 'triggers']) mkdirSync(join(root, 'var', 'lib', 'dpkg', sub), { recursive: true });
  mkdirSync(join(root, 'var', 'lib', 'apt'), { recursive: true });
  writeFileSync(join(root, 'var', 'lib', 'dpkg', 'status'), '');
  for (const name of PACKAGES) {
    run('dpkg', [`--root=${root}`, '-i', buildPackage(dir, name, '1.0-1')]);
    copyFileSync(buildPackage(dir, name, '2.0-1'), join(repo, 'pool', `${name}_2.0-1_all.deb`));
  }
  if (options.broken) {
    run('dpkg', [`--root=${root}`, '-i', buildPackage(dir, BROKEN, '1.0-1')]);
    copyFileSync(buildPackage(dir, BROKEN, '2.0-1', '#!/bin/sh\nexit 1\n'), join(repo, 'pool', `${BROKEN}_2.0-1_all.deb`));
  }
  for (const arch of ['amd64', 'all']) {
    mkdirSync(join(repo, 'dists', 'stable', 'main', `binary-${arch}`), { recursive: true });
    writeFileSync(join(repo, 'dists', 'stable', 'main', `binary-${arch}`, 'Packages'), run('apt-ftparchive', ['packages', 'pool'], { cwd: repo }));
  }
  const release = run('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Suite=stable', '-o', 'APT::FTPArchive::Release::Components=main', '-o', 'APT::FTPArchive::Release::Architectures=amd64 all', 'release', 'dists/stable'], { cwd: repo });
  writeFileSync(join(repo, 'dists', 'stable', 'Release'), release);

  const signer = gpgHome(dir, 'gpg-signer');
  run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'security-test@example.test', 'ed25519', 'sign', 'never'], { env: signer });
  run('gpg', ['--batch', '--yes', '--clearsign', '-o', join(repo, 'dists', 'stable', 'InRelease'), join(repo, 'dists', 'stable', 'Release')], { env: signer });
  const key = join(dir, 'repo-key.asc');
  writeFileSync(key, run('gpg', ['--batch', '--armor', '--export', 'security-test@example.test'], { env: signer }));
  const secretKey = join(dir, 'repo-secret.asc');
  writeFileSync(secretKey, run('gpg', ['--batch', '--armor', '--pinentry-mode', 'loopback', '--passphrase', '', '--export-secret-keys', 'security-test@example.test'], { env: signer }));

  const other = gpgHome(dir, 'gpg-other');
  run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'someone-else@example.test', 'ed25519', 'sign', 'never'], { env: other });
  const otherKey = join(dir, 'other-key.asc');
  writeFileSync(otherKey, run('gpg', ['--batch', '--armor', '--export', 'someone-else@example.test'], { env: other }));
  // Key generation started an agent in each throw-away home: it goes with the test.
  for (const env of [signer, other]) run('gpgconf', ['--kill', 'gpg-agent'], { env });
  return { dir, repo, root, key, otherKey, secretKey };
}

/** The version of a package installed in the root (dpkg-query), or undefined. */
export function installedVersion(root: string, name: string): string | undefined {
  try {
    return run('dpkg-query', [`--admindir=${join(root, 'var', 'lib', 'dpkg')}`, '-W', '-f=${Version}', name]).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface RepositoryServer {
  port: number;
  /** Every request: its path and the Via header (set by a proxy on the way). */
  requests: { path: string; via?: string }[];
  close(): Promise<void>;
}

/** Serves `repo` over HTTP on 127.0.0.1 (GET of files only). */
export async function serveRepository(repo: string, port: number): Promise<RepositoryServer> {
  const requests: RepositoryServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!));
    requests.push({ path, via: req.headers.via });
    const file = join(repo, path);
    if (!file.startsWith(repo) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
