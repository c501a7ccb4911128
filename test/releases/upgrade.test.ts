// A real node upgraded in place: platformd runs from an installed release in
// a temporary product root, `system upgrade file://...` brings a newer one,
// the runner restarts platformd on it behind the health gate. Then what goes
// wrong: a power cut right after the switch (the boot path rolls back), a
// release whose platformd cannot start (rolled back by itself), and a file
// changed under an installed release (refused at start, previous release).

import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlatform, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { bootPath, buildRelease, deriveRelease, installRelease, makeKey, stopByPidFile, type TestKey } from '../support/releases.js';
import { until } from '../support/until.js';

const work = tempHome('ps-release-');
const product = join(work, 'product');
const home = join(work, 'home');
const releases = join(work, 'files');
const marker = join(product, 'state', 'upgrade-in-progress.json');
let key: TestKey;
let daemon: RunningDaemon | undefined;

const platform = (words: string[]) => runPlatform(home, words);
const status = async () => JSON.parse((await platform(['--json', 'system', 'upgrade', 'status'])).stdout);
const current = () => readlinkSync(join(product, 'current'));
const start = (env: NodeJS.ProcessEnv = {}) => startDaemon({ home, program: join(product, 'current', 'bin', 'platformd.js'), env: withoutCI({ PLATFORM_UPGRADE_GATE_SECONDS: '40', ...env }) });

/** Waits until the runner has finished (no upgrade in progress, platformd answering) and returns the status. */
async function settled() {
  return until(
    'the upgrade to settle',
    async () => {
      if (existsSync(marker)) return false;
      const answer = await platform(['--json', 'system', 'upgrade', 'status']);
      return answer.status === 0 && JSON.parse(answer.stdout);
    },
    90_000,
    200,
  );
}

beforeAll(async () => {
  mkdirSync(home);
  key = makeKey(work);
  // 1.0.0 is installed; 1.0.1 is the upgrade; 1.0.2's platformd cannot start.
  const broken = join(work, 'broken-platformd.js');
  writeFileSync(broken, "console.error('platformd: this release is broken on purpose'); process.exit(3);\n");
  const first = await buildRelease(releases, '1.0.0', key);
  await deriveRelease(first, join(releases, 'platform-1.0.1.psup'), key, { version: '1.0.1' });
  await deriveRelease(first, join(releases, 'platform-1.0.2.psup'), key, { version: '1.0.2', replace: { 'dist/platformd.js': readFileSync(broken) } });
  await installRelease(product, first, key);
}, 240_000);

afterAll(async () => {
  await daemon?.stop({ keepHome: true });
  await stopByPidFile(home);
});

describe('upgrading a running node', () => {
  it('a power cut right after the switch: the boot path puts the node back on the old release and its store', async () => {
    daemon = await start({ PLATFORM_UPGRADE_FAULT: 'kill-after-switch' });
    expect((await platform(['system', 'setup', '--hostname', 'before-cut', '--role', 'unified'])).status).toBe(0);
    const answer = await platform(['--yes', 'system', 'upgrade', `file://${releases}/platform-1.0.1.psup`]);
    expect(answer.status, answer.stderr).toBe(0);
    // The runner stops platformd, switches, and is cut (SIGKILL) before it starts anything.
    await until('platformd to be stopped by the runner', () => daemon!.process.exitCode !== null || daemon!.process.signalCode !== null, 30_000);
    await until('the switch', () => current() === 'releases/1.0.1', 30_000);
    const runner = JSON.parse(readFileSync(marker, 'utf8')).runner.pid as number;
    await until('the runner to be cut', () => !existsSync(`/proc/${runner}`), 30_000);
    expect(current()).toBe('releases/1.0.1');
    expect(existsSync(marker)).toBe(true);

    await bootPath(product);
    expect(current()).toBe('releases/1.0.0');
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(join(product, 'releases')).sort()).toEqual(['1.0.0']);
    daemon = await start();
    const after = await status();
    expect(after.running).toBe('1.0.0');
    expect(after.lastAttempt.result).toBe('rolled-back');
    expect(after.lastAttempt.reason).toMatch(/interrupted \(after the switch\)/);
    expect(JSON.parse((await platform(['--json', 'system', 'info'])).stdout).hostname).toBe('before-cut');
  });

  it('installs 1.0.1 beside 1.0.0, restarts on it behind the gate, keeps the configuration', async () => {
    const oldPid = daemon!.pid;
    const answer = await platform(['--yes', 'system', 'upgrade', `file://${releases}/platform-1.0.1.psup`]);
    expect(answer.status).toBe(0);
    expect(answer.stdout).toMatch(/release 1\.0\.1 is installed beside 1\.0\.0/);
    const after = await settled();
    expect(after.lastAttempt).toMatchObject({ kind: 'upgrade', from: '1.0.0', to: '1.0.1', result: 'upgraded' });
    expect(after.running).toBe('1.0.1');
    expect(after.previous).toBe('1.0.0');
    expect(current()).toBe('releases/1.0.1');
    expect(Number(readFileSync(join(home, 'run', 'platformd.pid'), 'utf8'))).not.toBe(oldPid);
    expect(JSON.parse((await platform(['--json', 'system', 'info'])).stdout)).toMatchObject({ hostname: 'before-cut', versions: { platform: '1.0.1' } });
    // The snapshot taken before it is kept with the previous release.
    expect(existsSync(join(product, 'state', 'store-before-leaving-1.0.0', 'config.db'))).toBe(true);
  });

  it('a release whose platformd cannot start is rolled back by itself, with its reason in the status and the audit', async () => {
    const answer = await platform(['--yes', 'system', 'upgrade', `file://${releases}/platform-1.0.2.psup`]);
    expect(answer.status).toBe(0);
    const after = await settled();
    expect(after.lastAttempt).toMatchObject({ to: '1.0.2', result: 'rolled-back' });
    expect(after.lastAttempt.reason).toMatch(/platformd exited during start/);
    expect(after.running).toBe('1.0.1');
    expect(current()).toBe('releases/1.0.1');
    expect(readdirSync(join(product, 'releases')).sort()).toEqual(['1.0.0', '1.0.1']);
    const audit = JSON.parse((await platform(['--json', 'log', 'audit'])).stdout) as { words: string; message: string | null }[];
    expect(audit.find((entry) => entry.words === 'system upgrade (runner)' && /1\.0\.1 -> 1\.0\.2: rolled-back/.test(entry.message ?? ''))?.message).toMatch(/platformd exited during start/);
  });

  it('a file changed under the installed release: refused at start, the previous release runs, the banner says so', async () => {
    await stopByPidFile(home);
    // One byte changed, the size kept: only its hash can tell.
    const changed = join(product, 'releases', '1.0.1', 'dist', 'platform.js');
    const bytes = readFileSync(changed);
    bytes[bytes.length - 1] ^= 0x20;
    writeFileSync(changed, bytes);
    const refused = await start().then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/RELEASE VERIFICATION FAILED: dist\/platform\.js of release 1\.0\.1 does not match its signed hash/);
    expect(current()).toBe('releases/1.0.0');
    daemon = await start();
    const health = await platform(['health']);
    expect(health.stdout).toMatch(/RELEASE VERIFICATION FAILED: 1\.0\.1: dist\/platform\.js/);
    expect(health.status).toBe(1);
    expect((await status()).running).toBe('1.0.0');

    // The administrator acts: the running release is hashed whole, the banner goes, and so does the folder that failed.
    const verified = await platform(['system', 'release', 'verify']);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/release 1\.0\.0: all \d+ files match its signed manifest; RELEASE VERIFICATION FAILED is cleared \(it said: 1\.0\.1: dist\/platform\.js/);
    expect((await platform(['health'])).stdout).not.toContain('RELEASE VERIFICATION FAILED');
    expect(existsSync(join(product, 'releases', '1.0.1'))).toBe(false);
  });
});
