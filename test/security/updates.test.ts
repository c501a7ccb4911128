// OS security updates for real: a signed repository built here (dpkg-deb,
// apt-ftparchive, gpg), a daemon whose OS root is a tree of the test's own
// (PLATFORM_OS_ROOT: apt and dpkg change it, never this machine), the source
// given as file:// and as http:// through tinyproxy with a password and
// through a SOCKS5 server (as socks5h). The
// check lists what is pending and the banner says so; the update installs
// version 2 into the root (dpkg says so, and the file it ships), names the
// units of the packages it changed, and a repository signed by another key
// is refused with nothing installed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ROOT, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { until } from '../support/until.js';
import { buildRepository, installedVersion, PACKAGES, serveRepository, type RepositoryServer, type TestRepository } from './repository.js';

const PROXY_USER = 'updates';
const PROXY_PASSWORD = 'pr0xy-Secret';

let repo: TestRepository;
let node: RunningDaemon;
let server: RepositoryServer;
let tinyproxy: ChildProcess | undefined;
const proxyPort = freePort();

const json = async (words: string[]) => {
  const result = await node.platform(['--json', ...words]);
  return { ...result, data: result.stdout ? (JSON.parse(result.stdout) as Record<string, any>) : undefined };
};

async function startTinyproxy(): Promise<void> {
  const conf = join(repo.dir, 'tinyproxy.conf');
  writeFileSync(conf, [`Port ${proxyPort}`, 'Listen 127.0.0.1', 'Timeout 30', 'Allow 127.0.0.1', `BasicAuth ${PROXY_USER} ${PROXY_PASSWORD}`, 'LogLevel Info', `LogFile "${join(repo.dir, 'tinyproxy.log')}"`, 'User root', 'Group root', 'MaxClients 20', ''].join('\n'));
  tinyproxy = spawn('/usr/bin/tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
  await until('tinyproxy listening', () => existsSync(join(repo.dir, 'tinyproxy.log')) && readFileSync(join(repo.dir, 'tinyproxy.log'), 'utf8').includes('listening'), 15_000);
}

async function stopTinyproxy(): Promise<void> {
  if (!tinyproxy || tinyproxy.exitCode !== null) return;
  const exited = new Promise((resolve) => tinyproxy!.once('exit', resolve));
  tinyproxy.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  repo = buildRepository(tempHome('ps-security-'));
  node = await startDaemon({ env: withoutCI({ PLATFORM_OS_ROOT: repo.root }) });
  mkdirSync(join(node.home, 'media'), { recursive: true });
  for (const [file, name] of [
    [repo.key, 'repo-key.asc'],
    [repo.otherKey, 'other-key.asc'],
    [repo.secretKey, 'secret-key.asc'],
  ] as const)
    copyFileSync(file, join(node.home, 'media', name));
  server = await serveRepository(repo.repo, freePort());
}, 120_000);

afterAll(async () => {
  await stopTinyproxy();
  await server?.close();
  await node?.stop();
});

describe('the update source', () => {
  it('has none at first, and a check says how to set one', async () => {
    expect((await json(['security', 'source'])).data).toEqual({ uri: null, suite: null, components: [], keyFingerprints: [] });
    const check = await node.platform(['security', 'check']);
    expect(check.status).toBe(2);
    expect(check.stderr).toMatch(/no update source is set/);
  });

  it('refuses a source without a key, and a key that is secret or no key at all', async () => {
    const noKey = await node.platform(['security', 'source', `file://${repo.repo}`]);
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(/needs the key that signs it/);
    const secret = await node.platform(['security', 'source', `file://${repo.repo}`, 'key', 'secret-key.asc']);
    expect(secret.status).toBe(2);
    expect(secret.stderr).toMatch(/holds a secret key/);
    writeFileSync(join(node.home, 'media', 'not-a-key.asc'), '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n');
    const junk = await node.platform(['security', 'source', `file://${repo.repo}`, 'key', 'not-a-key.asc']);
    expect(junk.status).toBe(2);
    expect(junk.stderr).toMatch(/not an OpenPGP public key/);
    expect((await json(['security', 'source'])).data!.uri).toBeNull();
  });

  it('keeps a file:// repository with its key (the fingerprint gpg read)', async () => {
    const set = await json(['security', 'source', `file://${repo.repo}`, 'suite', 'stable', 'key', 'repo-key.asc']);
    expect(set.status).toBe(0);
    expect(set.data).toMatchObject({ uri: `file://${repo.repo}`, suite: 'stable', components: ['main'] });
    expect(set.data!.keyFingerprints).toHaveLength(1);
    expect(set.data!.keyFingerprints[0]).toMatch(/^[0-9A-F]{40}$/);
  });
});

describe('check and update from file://', () => {
  it('lists the pending updates, and the banner counts them', async () => {
    const check = await json(['security', 'check']);
    expect(check.status, check.stderr).toBe(0);
    expect(check.data!.updates).toEqual(PACKAGES.map((name) => ({ package: name, installed: '1.0-1', candidate: '2.0-1' })));
    const text = await node.platform(['security', 'check']);
    expect(text.stdout).toMatch(/platform-demo\s+1\.0-1\s+2\.0-1/);
    expect(text.stdout).toMatch(/2 updates pending/);
    const health = await json(['health']);
    expect(health.status).toBe(1);
    expect(health.data!.warnings).toContain('SECURITY UPDATES: 2');
    // A check installs nothing.
    expect(installedVersion(repo.root, 'platform-demo')).toBe('1.0-1');
  });

  it('refuses a repository the key does not sign, and installs nothing from it', async () => {
    expect((await node.platform(['security', 'source', `file://${repo.repo}`, 'key', 'other-key.asc'])).status).toBe(0);
    const check = await node.platform(['security', 'check']);
    expect(check.status).toBe(1);
    expect(check.stderr).toMatch(/not signed by the source's key/);
    const update = await node.platform(['--yes', 'security', 'update']);
    expect(update.status).toBe(1);
    expect(update.stderr).toMatch(/not signed by the source's key/);
    for (const name of PACKAGES) expect(installedVersion(repo.root, name)).toBe('1.0-1');
    expect((await node.platform(['security', 'source', `file://${repo.repo}`, 'key', 'repo-key.asc'])).status).toBe(0);
  });

  it('asks before installing', async () => {
    const update = await node.platform(['security', 'update']);
    expect(update.status).toBe(1);
    expect(update.stderr).toMatch(/not confirmed; add --yes/);
    expect(installedVersion(repo.root, 'platform-demo')).toBe('1.0-1');
  });

  it('installs version 2 into the OS root, names the units to restart, and the banner clears', async () => {
    const update = await json(['--yes', 'security', 'update']);
    expect(update.status, update.stderr).toBe(0);
    expect(update.data!.installed).toEqual(PACKAGES.map((name) => ({ package: name, from: '1.0-1', to: '2.0-1' })));
    // Only snmpd's unit: platform-demo is in no row of the table. Not an appliance: nothing runs as a unit here.
    expect(update.data!.notRestarted.map((n: { unit: string }) => n.unit)).toEqual(['platform-snmpd']);
    expect(update.data!.restarted).toEqual([]);
    for (const name of PACKAGES) {
      expect(installedVersion(repo.root, name)).toBe('2.0-1');
      expect(readFileSync(join(repo.root, 'usr', 'share', name, 'version'), 'utf8')).toBe('2.0-1\n');
    }
    expect(update.data!.stillPending).toEqual([]);
    const health = await json(['health']);
    expect(health.data!.warnings.filter((w: string) => w.startsWith('SECURITY'))).toEqual([]);
    // The proxy's settings never stay on disk between runs; the machine's own apt lists are not where ours are.
    expect(readdirSync(join(node.home, 'security'))).not.toContain('apt.conf');
    expect(readdirSync(join(node.home, 'security', 'lists')).some((f) => f.includes('stable_InRelease'))).toBe(true);
  });

  it('says so when nothing is pending', async () => {
    const update = await node.platform(['--yes', 'security', 'update']);
    expect(update.status).toBe(0);
    expect(update.stdout).toMatch(/no updates pending: nothing installed/);
  });

  it('shows REBOOT REQUIRED while the OS root says an update needs one', async () => {
    mkdirSync(join(repo.root, 'run'), { recursive: true });
    writeFileSync(join(repo.root, 'run', 'reboot-required'), '*** System restart required ***\n');
    try {
      const health = await json(['health']);
      expect(health.data!.warnings).toContain('REBOOT REQUIRED');
      expect((await node.platform(['security', 'check'])).stdout).toMatch(/REBOOT REQUIRED/);
    } finally {
      rmSync(join(repo.root, 'run', 'reboot-required'));
    }
  });
});

describe('http:// through the network proxy', () => {
  beforeAll(async () => {
    // Back to version 1, so that there is something to fetch again.
    for (const name of PACKAGES) {
      const deb = join(repo.dir, `${name}_1.0-1_all.deb`);
      expect(existsSync(deb)).toBe(true);
      execFileSync('dpkg', [`--root=${repo.root}`, '-i', deb], { stdio: 'ignore' });
    }
    expect(PACKAGES.map((name) => installedVersion(repo.root, name))).toEqual(['1.0-1', '1.0-1']);
    await startTinyproxy();
    expect((await node.platform(['network', 'proxy', `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${proxyPort}`])).status).toBe(0);
    expect((await node.platform(['security', 'source', `http://127.0.0.1:${server.port}/`, 'suite', 'stable', 'components', 'main'])).status).toBe(0);
  });

  it('reads the repository through the proxy (which adds its Via header)', async () => {
    server.requests.length = 0;
    const check = await json(['security', 'check']);
    expect(check.status, check.stderr).toBe(0);
    expect(check.data!.updates.map((u: { package: string }) => u.package)).toEqual([...PACKAGES]);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.via?.includes('tinyproxy'))).toBe(true);
    expect(readFileSync(join(repo.dir, 'tinyproxy.log'), 'utf8')).toMatch(/InRelease/);
  });

  it('is a row of the network requirements, through the proxy', async () => {
    const rows = (await json(['network', 'requirements', '--format', 'json'])).data as unknown as Record<string, unknown>[];
    expect(rows).toContainEqual(expect.objectContaining({ direction: 'outbound', destination: '127.0.0.1', protocol: 'tcp', port: server.port, purpose: `OS security updates (security source) (through the proxy 127.0.0.1:${proxyPort})` }));
  });

  it('installs through the proxy', async () => {
    server.requests.length = 0;
    const update = await json(['--yes', 'security', 'update']);
    expect(update.status, update.stderr).toBe(0);
    expect(update.data!.installed).toHaveLength(PACKAGES.length);
    expect(server.requests.some((r) => r.path.endsWith('.deb') && r.via?.includes('tinyproxy'))).toBe(true);
    for (const name of PACKAGES) expect(installedVersion(repo.root, name)).toBe('2.0-1');
  });

  it('never goes direct when the proxy is down, and goes direct for a host on the bypass list', async () => {
    await stopTinyproxy();
    server.requests.length = 0;
    const check = await node.platform(['security', 'check']);
    expect(check.status).toBe(1);
    expect(server.requests).toEqual([]);
    // The failure names the proxy, never its password.
    expect(check.stderr).toContain(`through the proxy 127.0.0.1:${proxyPort}`);
    expect(check.stderr).not.toContain(PROXY_PASSWORD);
    expect((await node.platform(['network', 'proxy', 'bypass', 'add', '127.0.0.1'])).status).toBe(0);
    const direct = await json(['security', 'check']);
    expect(direct.status, direct.stderr).toBe(0);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.via === undefined)).toBe(true);
  });
});

describe('http:// through a SOCKS5 proxy (socks5h: the proxy resolves the name)', () => {
  let socks: ChildProcess;
  let said = '';
  const socksPort = freePort();
  beforeAll(async () => {
    socks = spawn(process.execPath, [join(ROOT, 'test', 'support', 'socks5-server.mjs'), '127.0.0.1', String(socksPort), `${PROXY_USER}:${PROXY_PASSWORD}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    socks.stdout!.on('data', (chunk) => (said += chunk));
    await until('the SOCKS5 server listening', () => said.includes('listening'));
    expect((await node.platform(['network', 'proxy', `socks5://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${socksPort}`])).status).toBe(0);
    // A name, not an address: what reaches the proxy shows who resolves it.
    expect((await node.platform(['security', 'source', `http://localhost:${server.port}/`])).status).toBe(0);
  });
  afterAll(() => {
    socks?.kill('SIGKILL');
  });

  it('reads the repository through the proxy, which is handed the name', async () => {
    const check = await json(['security', 'check']);
    expect(check.status, check.stderr).toBe(0);
    expect(said).toContain(`CONNECT localhost:${server.port} ok`);
    expect(said).not.toContain('AUTH-FAILED');
  });

  it('fails, naming the proxy, once the proxy is gone', async () => {
    const exited = new Promise((resolve) => socks.once('exit', resolve));
    socks.kill('SIGTERM');
    await exited;
    const check = await node.platform(['security', 'check']);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain(`through the proxy 127.0.0.1:${socksPort}`);
    expect(check.stderr).not.toContain(PROXY_PASSWORD);
  });
});
