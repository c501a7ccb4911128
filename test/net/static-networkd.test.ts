// The applier for real, on this machine without touching its networking:
// platformd runs as an appliance (its OS root is "/") in a network namespace
// of the test's own and a private mount namespace where /etc is an overlay
// (writes land in the test's folder), /etc/systemd/network is the test's
// folder, and Debian's own D-Bus and systemd-networkd run beside it. So a
// change goes the appliance's whole way: the files written atomically,
// `networkctl reload` and `reconfigure`, networkd putting the addresses and
// routes into the kernel, and the rollback taking them out again.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, PLATFORMD, runPlatform, tempHome, withoutCI } from '../support/daemon.js';
import { until } from '../support/until.js';

const NS = `psnw${process.pid}`;
const work = tempHome('ps-networkd-applier-');
const home = join(work, 'home');
const networkDir = join(work, 'network');
const env = withoutCI();
let daemon: ChildProcess;
let output = '';

/**
 * Mounts of the private namespace, then D-Bus and networkd, then platformd in
 * the shell's place: the first process of a PID namespace of its own, so that
 * when it stops the kernel ends (and reaps) D-Bus and networkd with it.
 */
const SETUP = [
  'set -e',
  'mount --make-rprivate /',
  'mkdir -p "$W/upper" "$W/overlay-work"',
  'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$W/upper,workdir=$W/overlay-work" /etc',
  'mkdir -p /etc/systemd/network && mount --bind "$W/network" /etc/systemd/network',
  'mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/netif && chown systemd-network:systemd-network /run/systemd/netif',
  'mkdir -p /run/dbus && mount -t tmpfs tmpfs /run/dbus',
  // networkd waits for udev unless /sys is read-only (as in a container).
  'mount -o remount,ro,bind /sys',
  'dbus-daemon --system --nofork --nopidfile &',
  '/lib/systemd/systemd-networkd >"$W/networkd.log" 2>&1 &',
  'exec "$@"',
].join('\n');

const kernel = (...args: string[]) => execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8' });
const platform = (words: string[], extra: NodeJS.ProcessEnv = {}) => runPlatform(home, words, { env: { ...env, ...extra } });

beforeAll(async () => {
  mkdirSync(home);
  mkdirSync(networkDir);
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'lanx', 'type', 'veth', 'peer', 'name', 'lanxp']);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lanxp', 'up']);
  const args = [PLATFORMD, '--home', home, '--appliance', '--web-port', String(freePort()), '--http-port', String(freePort()), '--cluster-port', String(freePort())];
  daemon = spawn('ip', ['netns', 'exec', NS, 'unshare', '--mount', '--pid', '--mount-proc', '--kill-child=SIGTERM', 'sh', '-c', SETUP, 'setup', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, W: work } });
  daemon.stdout!.on('data', (d) => (output += d));
  daemon.stderr!.on('data', (d) => (output += d));
  await until('platformd, as an appliance beside networkd', () => (daemon.exitCode !== null ? Promise.reject(new Error(output)) : existsSync(join(home, 'run', 'platformd.sock')) && output.includes('serving')), 60_000, 100, () => output);
}, 90_000);
afterAll(async () => {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    // unshare ignores SIGTERM while it waits: platformd, its one child, is told to stop.
    const children = readFileSync(`/proc/${daemon.pid}/task/${daemon.pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
    for (const pid of children) process.kill(pid, 'SIGTERM');
    await exited;
  }
  execFileSync('ip', ['netns', 'del', NS]);
});

describe('an appliance applying through systemd-networkd', () => {
  it('puts a static address and gateway into the kernel, and keeps them when confirmed', async () => {
    const set = await platform(['network', 'interface', 'lanx', 'static', '192.0.2.10/24', 'gateway', '192.0.2.1']);
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain('written to /etc/systemd/network and reloaded by systemd-networkd');
    await until('networkd to set the address', () => kernel('addr', 'show', 'dev', 'lanx').includes('inet 192.0.2.10/24'), 20_000, 200, () => readFileSync(join(work, 'networkd.log'), 'utf8'));
    await until('networkd to set the gateway', () => /^default via 192\.0\.2\.1 dev lanx/m.test(kernel('route')), 20_000);
    expect((await platform(['network', 'confirm'])).stdout).toContain('confirmed: lanx static');
    expect(readFileSync(join(networkDir, '10-platform-lanx.network'), 'utf8')).toContain('Address=192.0.2.10/24\nGateway=192.0.2.1\n');
  }, 60_000);

  it('takes an unconfirmed route out of the kernel again when its time is up', async () => {
    const add = await platform(['network', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.254', '--confirm-within', '3']);
    expect(add.status, add.stderr).toBe(0);
    await until('the route in the kernel', () => kernel('route').includes('198.51.100.0/24 via 192.0.2.254 dev lanx'), 20_000);
    await until('the route rolled back out of the kernel', () => !kernel('route').includes('198.51.100.0/24'), 30_000);
    // networkd's reconfigure sets the interface up again from its file: the address comes back with it.
    await until('the address, after the reconfigure', () => kernel('addr', 'show', 'dev', 'lanx').includes('inet 192.0.2.10/24'), 20_000);
  }, 60_000);

  it('refuses to take the SSH session\'s address away, and rolls an address change back on request', async () => {
    const session = { SSH_CONNECTION: '192.0.2.99 50000 192.0.2.10 22' };
    const cut = await platform(['network', 'interface', 'lanx', 'static', '192.0.2.11/24'], session);
    expect(cut.status).toBe(1);
    expect(cut.stderr).toContain('your SSH session comes in on lanx at 192.0.2.10');
    const moved = await platform(['network', 'interface', 'lanx', 'static', '192.0.2.11/24', 'gateway', '192.0.2.1']);
    expect(moved.status, moved.stderr).toBe(0);
    await until('the new address', () => kernel('addr', 'show', 'dev', 'lanx').includes('inet 192.0.2.11/24'), 20_000);
    expect(kernel('addr', 'show', 'dev', 'lanx')).not.toContain('inet 192.0.2.10/24');
    expect((await platform(['network', 'rollback'])).stdout).toContain('rolled back: lanx static 192.0.2.11/24');
    await until('the old address back', () => kernel('addr', 'show', 'dev', 'lanx').includes('inet 192.0.2.10/24') && !kernel('addr', 'show', 'dev', 'lanx').includes('192.0.2.11'), 20_000);
  }, 60_000);
});
