// The upgrade runner: what switches releases, restarts platformd, holds the
// health gate and rolls back. It must outlive platformd's restart, so it is
// its own process: a transient systemd unit on an appliance (systemd-run), a
// detached child process in the embedded default and tests. It runs the
// code of the release being left, which is known to work.
//
// The health gate, within GATE_SECONDS: platformd is READY (systemd's unit
// active on an appliance; its ready file, written when it notifies, in a
// process), its firewall reconciled (READY comes only after that; in apply
// mode it must be applied), its API answers `health`, and the banner holds no
// warning it did not hold before the upgrade.

import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bootId, readMarker, removeMarker, writeAttempt, writeMarker, type Marker } from './marker.js';
import { linkedVersion, readJson, removeRelease, snapshotDir, switchLink, type ProductRoot } from './layout.js';

/** How long a new release has to pass the gate (seconds); PLATFORM_UPGRADE_GATE_SECONDS changes it (tests). */
export const GATE_SECONDS = 120;
const STOP_TIMEOUT_MS = 15_000;

export const gateSeconds = () => {
  const given = Number(process.env.PLATFORM_UPGRADE_GATE_SECONDS);
  return Number.isFinite(given) && given > 0 && given <= 3600 ? given : GATE_SECONDS;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A process that has exited but whose parent has not reaped it yet (a zombie) is not alive: a daemon the runner restarted has no parent but init, which may reap late. */
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

const pidFile = (home: string) => join(home, 'run', 'platformd.pid');
const readyFile = (home: string) => join(home, 'run', 'ready.json');
function daemonPid(home: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(home), 'utf8').trim());
    return pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The node binary and entry of a release folder (its own runtime when it carries one). */
export function programOf(dir: string, program: string): [string, string] {
  const node = join(dir, '.runtime', 'node', 'bin', 'node');
  return [existsSync(node) ? node : process.execPath, join(dir, 'bin', program)];
}

async function stopDaemon(marker: Marker): Promise<void> {
  if (marker.restart.mode === 'systemd') {
    await run('systemctl', ['stop', marker.restart.unit], STOP_TIMEOUT_MS + 5000);
    return;
  }
  const pid = daemonPid(marker.home);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(5);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(5);
}

/** Starts platformd from `current`; in a process, returns a way to tell that it died. */
async function startDaemon(product: ProductRoot, marker: Marker): Promise<() => boolean> {
  rmSync(readyFile(marker.home), { force: true });
  if (marker.restart.mode === 'systemd') {
    await run('systemctl', ['start', '--no-block', marker.restart.unit]);
    return () => false;
  }
  const [node, entry] = programOf(product.current, 'platformd.js');
  const log = openSync(join(marker.home, 'logs', 'platformd-upgrade.out'), 'a', 0o600);
  const child = spawn(node, [entry, ...marker.restart.args], { detached: true, stdio: ['ignore', log, log] });
  let exited = false;
  child.once('exit', () => (exited = true));
  child.unref();
  return () => exited;
}

/** Warnings compared without their figures (a free percentage, a load) that move on their own. */
const warningKey = (text: string) => text.replace(/[0-9.]+/g, '#');

/** Waits for the gate; resolves undefined when passed, or the reason it failed. */
async function healthGate(product: ProductRoot, marker: Marker, died: () => boolean, seconds: number): Promise<string | undefined> {
  const deadline = Date.now() + seconds * 1000;
  let last = 'platformd did not report ready';
  while (Date.now() < deadline) {
    if (died()) return 'platformd exited during start';
    let ready = false;
    if (marker.restart.mode === 'systemd') {
      const state = (await run('systemctl', ['show', '-p', 'ActiveState', '--value', marker.restart.unit])).stdout.trim();
      if (state === 'failed') return `${marker.restart.unit} failed to start`;
      ready = state === 'active';
    } else {
      const pid = daemonPid(marker.home);
      const file = readJson<{ pid?: number; firewall?: string }>(readyFile(marker.home));
      ready = pid !== undefined && file?.pid === pid;
      if (ready && file?.firewall?.includes('not applied') && !file.firewall.includes('plan mode')) {
        return `the firewall was not reconciled: ${file.firewall}`;
      }
    }
    if (ready) {
      const [node, entry] = programOf(product.current, 'platform.js');
      const health = await run(node, [entry, '--home', marker.home, '--json', 'health'], 30_000);
      try {
        const warnings = (JSON.parse(health.stdout) as { warnings: string[] }).warnings;
        const before = new Set(marker.warningsBefore.map(warningKey));
        const fresh = warnings.filter((w) => !before.has(warningKey(w)));
        if (fresh.length === 0) return undefined;
        last = `health shows a new warning: ${fresh.join('; ')}`;
      } catch {
        last = `its API does not answer health (exit ${health.code}): ${health.stderr.trim().split('\n').pop() ?? ''}`;
      }
    }
    await sleep(200);
  }
  return `not healthy within ${seconds} s: ${last}`;
}

/** Puts the store taken before the upgrade back in place (platformd stopped). */
function restoreStore(product: ProductRoot, marker: Marker): void {
  const snapshot = join(snapshotDir(product, marker.kind === 'upgrade' ? marker.from : marker.to), 'config.db');
  if (!existsSync(snapshot)) return;
  const database = join(marker.home, 'config.db');
  const temp = `${database}.rollback-${process.pid}`;
  copyFileSync(snapshot, temp);
  for (const suffix of ['-wal', '-shm']) rmSync(database + suffix, { force: true });
  renameSync(temp, database);
}

/** Whether `current` was switched to the new release (the new platformd may have run, and changed the store). */
const switched = (product: ProductRoot, marker: Marker) => marker.state === 'switched' || linkedVersion(product.current) === marker.to;

/** Back to the release the upgrade left: store restored, links back, the new release removed. Does not start platformd. */
function undoUpgrade(product: ProductRoot, marker: Marker): void {
  if (switched(product, marker)) restoreStore(product, marker);
  switchLink(product, product.current, marker.from);
  switchLink(product, product.previous, marker.previousBefore ?? undefined);
  removeRelease(product, marker.to);
}

function finish(product: ProductRoot, marker: Marker, result: 'upgraded' | 'rolled-back' | 'failed', reason: string | null): void {
  const endedAt = new Date();
  writeAttempt(product, {
    kind: marker.kind,
    from: marker.from,
    to: marker.to,
    result,
    reason,
    startedAt: marker.startedAt,
    endedAt: endedAt.toISOString(),
    seconds: Math.round((endedAt.getTime() - Date.parse(marker.startedAt)) / 100) / 10,
    reported: false,
  });
  removeMarker(product);
}

/** Has platformd record the result now (audit, event): `system upgrade status` does it for the first one to ask. */
async function tellPlatformd(product: ProductRoot, marker: Marker): Promise<void> {
  const [node, entry] = programOf(product.current, 'platform.js');
  await run(node, [entry, '--home', marker.home, '--json', 'system', 'upgrade', 'status'], 30_000);
}

/** The runner's whole job, from a prepared marker. */
export async function runUpgrade(product: ProductRoot): Promise<void> {
  const marker = readMarker(product);
  if (!marker) throw new Error('no upgrade is prepared');
  marker.runner = { pid: process.pid, bootId: bootId() };
  writeMarker(product, marker);
  // previous first, while the old release still serves: at every instant one of the two links names the release to go back to.
  if (marker.kind === 'upgrade') switchLink(product, product.previous, marker.from);
  // The service gap: from here to the new platformd's socket. `current` naming `to` is itself the mark of the switch (switched()).
  await stopDaemon(marker);
  if (marker.kind === 'rollback') restoreStore(product, marker);
  switchLink(product, product.current, marker.to);
  marker.state = 'switched';
  if (process.env.PLATFORM_UPGRADE_FAULT === 'kill-after-switch') process.kill(process.pid, 'SIGKILL'); // a power cut, for tests
  const died = await startDaemon(product, marker);
  const failed = await healthGate(product, marker, died, gateSeconds());
  if (failed === undefined) {
    if (marker.kind === 'rollback') switchLink(product, product.previous, undefined);
    finish(product, marker, marker.kind === 'upgrade' ? 'upgraded' : 'rolled-back', marker.kind === 'rollback' ? 'asked for (system rollback)' : null);
    await tellPlatformd(product, marker);
    return;
  }
  if (marker.kind === 'rollback') {
    // Nothing older to go back to: say so; the node runs what it could start.
    finish(product, marker, 'failed', failed);
    await tellPlatformd(product, marker);
    return;
  }
  await stopDaemon(marker);
  undoUpgrade(product, marker);
  const again = await startDaemon(product, marker);
  const back = await healthGate(product, marker, again, gateSeconds());
  finish(product, marker, 'rolled-back', back === undefined ? failed : `${failed}; then the old release too: ${back}`);
  await tellPlatformd(product, marker);
}

/**
 * The boot path (before platformd starts): an upgrade marker with no live
 * runner is an upgrade a power cut or a crash interrupted. It is undone:
 * the old release in `current`, its store back, the new release removed.
 * Returns what it did, for the journal.
 */
export function recoverInterrupted(product: ProductRoot): string | undefined {
  const marker = readMarker(product);
  if (!marker) return undefined;
  const runner = marker.runner;
  if (runner && runner.bootId === bootId() && runner.pid !== process.pid && isAlive(runner.pid)) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${runner.pid}/cmdline`, 'utf8');
    } catch {
      // gone meanwhile
    }
    if (cmdline.includes('platform-release')) return undefined; // an upgrade in progress: its runner decides
  }
  const wasSwitched = switched(product, marker);
  if (marker.kind === 'upgrade') {
    undoUpgrade(product, marker);
  } else if (switched(product, marker)) {
    // A rollback was cut after its switch: its store is back already and current names the older release; finishing it is the safe end.
    switchLink(product, product.previous, undefined);
  }
  const what = marker.kind === 'upgrade' ? `the upgrade from ${marker.from} to ${marker.to} was interrupted (${wasSwitched ? 'after the switch' : 'before the switch'}); back on ${marker.from}` : `the rollback to ${marker.to} was interrupted; finished`;
  finish(product, marker, marker.kind === 'upgrade' ? 'rolled-back' : 'rolled-back', what);
  return what;
}
