// The appliance itself: the node image built by Packer (packer/image.mjs:
// the offline source, from a base disk of Debian's packages; cached under a
// hash of its inputs) boots in QEMU with systemd as PID 1, takes its first
// boot answers from a second disk, and is reached from this machine over
// real SSH through forwards on 127.0.0.1, as an administrator reaches a node.
// The guest's OS is looked at as root through a `probe` account added to
// this test's copy of the disk only (the product's accounts land in the console).
// The node is then upgraded as an administrator does it (issue 23): a release
// of this tree with a higher version, signed by a key made for this run and
// trusted through the console, copied into media with scp and installed by
// `system upgrade`: a changed byte and an untrusted key are refused, the
// node unchanged; a power cut (QEMU killed) right after `current` switched
// leaves a node that boots on the old release; then the same release comes
// over http:// through a proxy on this machine's side of QEMU's user-mode
// network, and settings, users, certificate and firewall stay the same.
// One VM at a time, stopped by its PID at the end, also when a test fails.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { open } from 'node:fs/promises';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { basename, join } from 'node:path';
import { withoutCI } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';
import { answersDisk, freeLocalPort, startVm, testDisk, waitForSshBanner, type Vm } from '../support/vm.mjs';
import { ensureImage, type BuiltImage } from '../../packer/image.mjs';
import { buildRelease, makeKey, type TestKey } from '../support/releases.js';
import { MAGIC, readHeader } from '../../releases/container.js';
import { keyIdOf, signManifest } from '../../releases/manifest.js';
import { until } from '../support/until.js';
import { startConnectProxy } from '../support/connect-proxy.js';

const dir = `/var/tmp/ps-vm-${process.pid}`;
/** QEMU gives the first NIC this MAC address when none is named. */
const QEMU_FIRST_MAC = '52:54:00:12:34:56';
const PASSWORD = 'Chosen-Pa55word';
/** A port no catalog service has: a listener there must stay unreachable. */
const STRAY_PORT = 5555;
const ANSWERS = {
  HOSTNAME: 'node01',
  ROLE: 'unified',
  IP: '10.0.2.15', // QEMU's user-mode network gives the guest this address
  NTP: '192.0.2.10',
  DNS: '10.0.2.3',
  DOMAIN: 'example.net',
  DATA_CENTRE: 'dc1',
  // The only NIC with an address is static (QEMU's user network, its default MAC): no DHCP
  // answer is needed, and first boot must not wait out wait-online's two minutes for it.
  ADDRESS: `${QEMU_FIRST_MAC} 10.0.2.15/24`,
  GATEWAY: '10.0.2.2',
};
/** A second NIC, on a socket netdev nobody connects to: static networking's interface. */
const SECOND_MAC = '52:54:00:78:00:05';
const timings: Record<string, number> = {};
let built: BuiltImage;
let vm: Vm;
let disk: string;
let answers: string;

const log = (line: string) => process.stderr.write(`[image] ${line}\n`);
const clientOptions = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=20'];
const keyArgs = (key: string) => ['-i', join(dir, key), '-o', 'BatchMode=yes', ...clientOptions, '-p', String(vm.ports.ssh)];

/** One command as the console user `platform`, with its key (ssh platform@node words...). */
function admin(...words: string[]) {
  return adminWithin(90_000, ...words);
}
/** `admin` for a command that may take minutes under TCG (an upgrade checks and writes 200 MB). */
function adminWithin(timeout: number, ...words: string[]) {
  // `--` first: ssh would take the console's own options (--json, --yes) for its own.
  return spawnSync('ssh', [...keyArgs('admin_key'), '--', 'platform@127.0.0.1', ...words], { encoding: 'utf8', env: withoutCI(), timeout });
}
/** `adminWithin` without blocking this process: servers the test runs in it (a proxy, a download server) must answer meanwhile. */
function adminAsync(timeout: number, ...words: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ssh', [...keyArgs('admin_key'), '--', 'platform@127.0.0.1', ...words], { env: withoutCI(), timeout });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
/** Files uploaded to the node's media as the administrator does it: scp (SFTP, in the console's sandbox). */
function uploadToMedia(...files: string[]) {
  const keyed = keyArgs('admin_key').map((arg) => (arg === '-p' ? '-P' : arg));
  return spawnSync('scp', ['-q', ...keyed, ...files, 'platform@127.0.0.1:media/'], { encoding: 'utf8', timeout: 600_000 });
}
/** A shell script as root in the guest (given on stdin: no quoting through ssh). */
function probe(command: string) {
  const result = spawnSync('ssh', [...keyArgs('probe_key'), 'probe@127.0.0.1', 'sudo sh -s'], { input: command, encoding: 'utf8', timeout: 90_000 });
  return { status: result.status, out: (result.stdout ?? '').trim(), err: (result.stderr ?? '').trim() };
}
const json = (result: { stdout: string; stderr: string; status: number | null }) => {
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};

/** One keyboard-interactive password login without a terminal (ssh asks askpass). */
function passwordLogin(password: string): Promise<number> {
  const env = withoutCI({ SSH_ASKPASS: join(dir, 'askpass'), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'none', ANSWER: password });
  const child = spawn('ssh', [...clientOptions, '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1', '-p', String(vm.ports.ssh), 'platform@127.0.0.1', 'system', 'info'], { env, stdio: 'ignore', detached: true });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

/** The web certificate's SHA-256 fingerprint, from a real TLS handshake through the forward (retried while nginx starts). */
async function webFingerprint(): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await handshake();
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

function handshake(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: vm.ports.https, rejectUnauthorized: false, servername: 'node01' }, () => {
      const cert = socket.getPeerX509Certificate() as X509Certificate;
      socket.destroy();
      resolve(cert.fingerprint256);
    });
    socket.setTimeout(15_000, () => socket.destroy(new Error('no TLS handshake in 15 s')));
    socket.on('error', reject);
  });
}

/** What a TCP connection through a forward gets in `ms` (the forward itself always accepts; the guest's firewall decides). */
function tcpAnswer(port: number, ms = 4000): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(data));
    setTimeout(() => socket.destroy(), ms);
  });
}

/** A listener of no service, started in the guest: it answers inside, but the firewall drops it from outside. */
async function expectStrayListenerDropped() {
  const started = probe(`systemd-run --unit=ps-stray /usr/local/bin/node -e "require('net').createServer((s) => s.end('stray\\\\n')).listen(${STRAY_PORT})"`);
  expect(started.status, started.err).toBe(0);
  try {
    await until('the stray listener', () => probe(`/usr/local/bin/node -e "require('net').connect(${STRAY_PORT}, '127.0.0.1').on('data', (d) => { process.stdout.write(d); process.exit(0); })"`).out === 'stray', 180_000, 1000);
    expect(await tcpAnswer(vm.ports.stray)).toBe('');
  } finally {
    probe('systemctl stop ps-stray.service');
  }
}

/** Boots take minutes under TCG on a busy 2-core machine: generous, since timings belong to the benchmark. */
const BOOT_TIMEOUT = 900_000;
const bootTime = async (what: string) => {
  const ms = await waitForSshBanner(vm.ports.ssh, BOOT_TIMEOUT, vm.exited);
  timings[what] = ms / 1000;
  log(`${what}: SSH banner after ${(ms / 1000).toFixed(1)} s`);
};

beforeAll(async () => {
  const start = Date.now();
  built = await ensureImage({ log });
  timings['base disk build'] = built.baseDisk.seconds;
  timings['packer build'] = built.packerSeconds;
  log(`image ${built.image} (${built.built ? 'built' : 'from the cache'}) in ${((Date.now() - start) / 1000).toFixed(1)} s`);

  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const key of ['admin_key', 'probe_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', key, '-f', join(dir, key)]);
  execFileSync('sh', ['-c', `printf '#!/bin/sh\\necho "$ANSWER"\\n' > ${join(dir, 'askpass')} && chmod 755 ${join(dir, 'askpass')}`]);
  const hash = execFileSync('openssl', ['passwd', '-6', PASSWORD], { encoding: 'utf8' }).trim();
  const lines = [...Object.entries(ANSWERS).map(([k, v]) => `${k}=${v}`), `ADMIN_KEY=${readFileSync(join(dir, 'admin_key.pub'), 'utf8').trim()}`, `ADMIN_PASSWORD_HASH=${hash}`];
  answers = answersDisk(dir, lines.join('\n') + '\n');
  disk = testDisk(built.image, dir, { probeKey: readFileSync(join(dir, 'probe_key.pub'), 'utf8') });

  vm = await startVm({ disk, answers, dir, forwards: { ssh: 22, https: 443, stray: STRAY_PORT }, privateLink: { listen: await freeLocalPort(), mac: SECOND_MAC } });
  log(`QEMU pid ${vm.pid}, ssh on 127.0.0.1:${vm.ports.ssh}`);
  await bootTime('first boot');
  // First boot's setup runs after platformd: wait for it to finish.
  await until('first boot setup', () => probe('test -f /opt/platform/.setup-done && echo done').out === 'done', 600_000, 2000);
}, 2_400_000);

afterAll(async () => {
  if (vm) {
    if (vm.running()) log(`stopping QEMU pid ${vm.pid}`);
    await vm.stop();
  }
  log(`timings (s): ${JSON.stringify(timings)}`);
  // PLATFORM_VM_KEEP=1 keeps the disk and the guest's serial console (console.log) for a look.
  if (process.env.PLATFORM_VM_KEEP) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('the built image', () => {
  it('comes with its sha256 and a manifest of product, Node and Debian package versions', () => {
    // One line per artifact file: the image's is the one naming the .qcow2.
    const line = readFileSync(built.sha256File, 'utf8').split('\n').find((l) => l.trim().endsWith('.qcow2'));
    const [sum] = (line ?? '').trim().split(/\s+/);
    expect(sum).toBe(execFileSync('sha256sum', [built.image], { encoding: 'utf8' }).split(' ')[0]);
    const manifest = built.manifest;
    expect(manifest.product.version).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(manifest.node).toBe(process.version);
    for (const pkg of ['systemd', 'openssh-server', 'nftables', 'nginx-light', 'chrony', 'libpam-pwquality']) expect(manifest.packages[pkg], pkg).toMatch(/^\d/);
  });
});

describe('the booted node', () => {
  it('lands a login in the banner and the prompt', async () => {
    const term = openTerminal('ssh', [...keyArgs('admin_key'), '-tt', 'platform@127.0.0.1']);
    try {
      const banner = await term.waitFor('host: node01, role: unified', { timeout: 240_000 });
      await term.waitFor('platform@node01:~$', { from: banner, timeout: 240_000 });
      term.write('exit\r');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
  }, 600_000);

  it('shows the answers of its first boot in system info', () => {
    const info = json(admin('--json', 'system', 'info'));
    expect(info).toMatchObject({ hostname: 'node01', roles: ['unified'], ip: '10.0.2.15', dataCentre: 'dc1', domain: 'example.net', ntp: ['192.0.2.10'], dns: ['10.0.2.3'], configured: true });
    expect(info.addresses.join()).toContain('10.0.2.15/24');
    expect(info.versions.node).toBe(process.versions.node);
    expect(probe('hostnamectl --static').out).toBe('node01');
    // Its own name resolves from /etc/hosts, not from DNS.
    expect(probe('getent -s files hosts node01').out).toMatch(/^127\.0\.1\.1\s+node01\.example\.net\s+node01$/);
    expect(probe('cat /etc/resolv.conf').out).toContain('nameserver 10.0.2.3');
  }, 600_000);

  it('runs systemd as PID 1, platformd, the firewall unit and sshd; the firewall is applied', () => {
    expect(probe('ps -o comm= -p 1').out).toBe('systemd');
    expect(probe('systemctl is-active platformd.service platform-firewall.service ssh.service').out.split('\n')).toEqual(['active', 'active', 'active']);
    expect(probe('systemctl is-enabled nginx.service || true').out).toBe('disabled');
    const status = json(admin('--json', 'firewall', 'status'));
    expect(status).toMatchObject({ mode: 'apply', applied: true });
  }, 600_000);

  it('answers only on the expected ports: 22 and 443 through the forwards, not a listener of no service', async () => {
    expect(await webFingerprint()).toMatch(/^[0-9A-F:]{95}$/);
    await expectStrayListenerDropped();
  }, 300_000);

  it('closes and opens the web port with app stop / app start nginx (the front end platformd runs)', async () => {
    const stop = admin('--yes', 'app', 'stop', 'nginx');
    expect(stop.status, stop.stderr).toBe(0);
    await expect(handshake()).rejects.toThrow();
    const start = admin('app', 'start', 'nginx');
    expect(start.status, start.stderr).toBe(0);
    expect(await webFingerprint()).toMatch(/^[0-9A-F:]{95}$/);
  }, 300_000);

  it('closes and opens an app’s port with app stop / app start (systemd units, for real)', async () => {
    // No database server is packaged in Debian: a stand-in listens on the
    // database port under the unit name the appliance's catalog of apps gives it.
    const unit = `[Service]\nExecStart=/usr/local/bin/node -e "require('net').createServer((s) => s.end()).listen(27017)"\n`;
    const made = probe(`cat > /run/systemd/system/mongod.service <<'UNIT'\n${unit}UNIT\nsystemctl daemon-reload && systemctl start mongod.service`);
    expect(made.status, made.err).toBe(0);
    try {
      const rulesHave27017 = () => /dport[^\n]*27017/.test(probe('nft list table inet platform').out);
      await until('27017 opened for the running database', () => rulesHave27017(), 180_000, 1000);

      const stop = admin('--yes', 'app', 'stop', 'database');
      expect(stop.status, stop.stderr).toBe(0);
      expect(probe('systemctl is-active mongod.service').out).toBe('inactive');
      expect(rulesHave27017()).toBe(false);
      expect(json(admin('--json', 'app', 'status')).apps.find((a: { name: string }) => a.name === 'database').running).toBe(false);

      const start = admin('app', 'start', 'database');
      expect(start.status, start.stderr).toBe(0);
      expect(probe('systemctl is-active mongod.service').out).toBe('active');
      await until('27017 opened again', () => rulesHave27017(), 120_000, 1000);
    } finally {
      probe('systemctl stop mongod.service; rm -f /run/systemd/system/mongod.service; systemctl daemon-reload');
    }
  }, 600_000);

  it('takes a new host name and NTP server through the console to the OS; chrony reloads', () => {
    const chronyPid = probe('systemctl show -p MainPID --value chrony.service').out;
    const ntp = admin('network', 'ntp', 'add', '192.0.2.11');
    expect(ntp.status, ntp.stderr).toBe(0);
    expect(ntp.stdout).not.toMatch(/failed/);
    expect(probe('chronyc -n sources').out).toMatch(/192\.0\.2\.11/);
    expect(probe('systemctl show -p MainPID --value chrony.service').out).toBe(chronyPid); // reloaded, not restarted

    const renamed = admin('network', 'hostname', 'node02');
    expect(renamed.status, renamed.stderr).toBe(0);
    expect(renamed.stdout).not.toMatch(/failed/);
    expect(probe('hostnamectl --static').out).toBe('node02');
    expect(probe('hostname').out).toBe('node02');
    expect(probe('getent -s files hosts node02').out).toMatch(/^127\.0\.1\.1\s/);
    // Back to the first name, for the checks after the reboot.
    expect(admin('network', 'hostname', 'node01').status).toBe(0);
    expect(probe('hostname').out).toBe('node01');
  }, 600_000);

  it('locks the account after five wrong passwords in sshd/PAM; a key still logs in; user unlock ends it', async () => {
    expect(await passwordLogin(PASSWORD)).toBe(0);
    for (let i = 0; i < 5; i++) expect(await passwordLogin('Wrong-Pa55word')).toBe(255);
    expect(await passwordLogin(PASSWORD)).toBe(255); // locked: the right password is refused too
    expect(admin('system', 'info').status).toBe(0); // keys still log in
    const unlock = admin('user', 'unlock', 'platform');
    expect(unlock.status, unlock.stderr).toBe(0);
    expect(unlock.stdout).toMatch(/^unlocked platform \([5-9] failed logins, the last from 10\.0\.2\.2\)/);
    expect(await passwordLogin(PASSWORD)).toBe(0);
  }, 600_000);
});

/** The guest's interface with this MAC address. */
const interfaceWith = (mac: string) => probe(`grep -l '^${mac}$' /sys/class/net/*/address | cut -d/ -f5`).out;

describe('static networking', () => {
  it('brought the static-only first NIC up before the network was waited for: no two-minute wait', () => {
    const nic = interfaceWith(QEMU_FIRST_MAC);
    expect(probe(`cat /etc/systemd/network/15-platform-firstboot-*.network`).out).toContain('Gateway=10.0.2.2');
    expect(probe(`ip -4 -o addr show dev ${nic}`).out).toContain('10.0.2.15/24');
    expect(probe(`ip -4 -o addr show dev ${nic}`).out).not.toContain('dynamic');
    expect(probe('ip route show default').out).toContain(`default via 10.0.2.2 dev ${nic}`);
    const journal = probe("journalctl -b -o short-monotonic --no-pager -u platform-firstboot-network.service -u systemd-networkd-wait-online.service").out;
    expect(journal).not.toMatch(/Failed to start|timed out|Timeout/i);
    const lines = journal.split('\n');
    const early = lines.findIndex((l) => /Finished platform-firstboot-network\.service/.test(l));
    const online = lines.findIndex((l) => /Finished systemd-networkd-wait-online\.service/.test(l));
    expect(early, journal).toBeGreaterThanOrEqual(0);
    expect(online, journal).toBeGreaterThan(early);
  }, 600_000);

  it('sets a static address and gateway on the second NIC through networkd, kept when confirmed', async () => {
    const nic = interfaceWith(SECOND_MAC);
    expect(nic).toMatch(/^\w+$/);
    const set = admin('network', 'interface', nic, 'static', '10.78.0.5/24', 'gateway', '10.78.0.1');
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toContain('reloaded by systemd-networkd');
    await until('networkd to give the second NIC its address', () => probe(`ip -4 -o addr show dev ${nic}`).out.includes('10.78.0.5/24'), 120_000, 2000);
    expect(json(admin('--json', 'network', 'interfaces')).pendingConfirmation.description).toContain(`${nic} static 10.78.0.5/24`);
    expect(admin('network', 'confirm').stdout).toContain('confirmed');
    expect(probe(`cat /etc/systemd/network/10-platform-${nic}.network`).out).toContain('Address=10.78.0.5/24\nGateway=10.78.0.1');
  }, 600_000);

  it('rolls back a change left unconfirmed: the route leaves the kernel by itself', async () => {
    const nic = interfaceWith(SECOND_MAC);
    const add = admin('network', 'route', 'add', '10.79.0.0/16', 'via', '10.78.0.254', '--confirm-within', '20');
    expect(add.status, add.stderr).toBe(0);
    await until('the route in the kernel', () => probe('ip route show 10.79.0.0/16').out.includes(`via 10.78.0.254 dev ${nic}`), 120_000, 2000);
    await until('the route rolled back', () => probe('ip route show 10.79.0.0/16').out === '', 240_000, 3000);
    expect(probe(`cat /etc/systemd/network/10-platform-${nic}.network`).out).not.toContain('[Route]');
    expect(probe(`ip -4 -o addr show dev ${nic}`).out).toContain('10.78.0.5/24');
  }, 600_000);

  it("refuses a change that takes away the address the administrator's own SSH session comes in on", () => {
    const nic = interfaceWith(QEMU_FIRST_MAC);
    const cut = admin('network', 'interface', nic, 'static', '10.0.2.99/24');
    expect(cut.status).toBe(1);
    expect(cut.stderr).toContain(`your SSH session comes in on ${nic} at 10.0.2.15`);
    expect(probe(`ls /etc/systemd/network/10-platform-${nic}.network 2>/dev/null || echo none`).out).toBe('none');
  }, 600_000);
});

describe('upgrading the node with a signed release (issue 23)', () => {
  const PRODUCT = '/opt/platform-shell';
  const media = (name: string) => `/opt/platform/media/${name}`;
  const releases = join(dir, 'releases');
  let key: TestKey;
  let keyId = '';
  let running = '';
  let next = '';
  let release = '';
  let firstFileAt = 0;
  let firstFile = '';

  const current = () => probe(`readlink ${PRODUCT}/current`).out;
  const installed = () => probe(`ls -A ${PRODUCT}/releases`).out;
  const upgradeStatus = () => json(admin('--json', 'system', 'upgrade', 'status'));
  const upgradeTo = (file: string) => adminWithin(600_000, '--yes', 'system', 'upgrade', `file://${media(file)}`);
  /** Writes bytes (a Buffer, or a file in media) over a file in the guest at `offset`, as root: the file is changed in place. */
  const overwriteInGuest = (file: string, offset: number, bytes: Buffer | { mediaFile: string }) => {
    // dd, not a node: under TCG each node start in the guest costs seconds. printf's octal escapes carry any byte.
    const source = Buffer.isBuffer(bytes) ? `printf '${[...bytes].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}' |` : '';
    const input = Buffer.isBuffer(bytes) ? '' : `if=${media(bytes.mediaFile)}`;
    const result = probe(`${source} dd ${input} of=${file} bs=4096 oflag=seek_bytes seek=${offset} conv=notrunc status=none`);
    expect(result.status, result.err).toBe(0);
  };

  beforeAll(async () => {
    running = upgradeStatus().running;
    const [major, minor, patch] = running.split('.').map(Number);
    next = `${major}.${minor}.${patch! + 1}`;
    // A key of this run: the image trusts the key of the checkout that built it, which may not be this one's.
    key = makeKey(dir, 'release-key');
    keyId = keyIdOf(createPublicKey(readFileSync(key.publicKey, 'utf8')));
    release = await buildRelease(releases, next, key);

    // The same release signed by a key the node never trusts: only its header differs, at the same length.
    const handle = await open(release, 'r');
    const header = await readHeader(handle);
    await handle.close();
    firstFileAt = header.contentOffset;
    firstFile = (JSON.parse(header.manifestBytes.toString('utf8')) as { files: { path: string }[] }).files[0]!.path;
    const untrusted = makeKey(dir, 'untrusted-key');
    const untrustedId = keyIdOf(createPublicKey(readFileSync(untrusted.publicKey, 'utf8')));
    const manifest = Buffer.from(header.manifestBytes.toString('utf8').replace(`"keyId":"${keyId}"`, `"keyId":"${untrustedId}"`));
    expect(manifest.equals(header.manifestBytes)).toBe(false);
    const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
    const signature = signManifest(manifest, readFileSync(untrusted.privateKey, 'utf8'));
    const untrustedHeader = Buffer.concat([MAGIC, u32(manifest.length), manifest, u32(signature.length), signature]);
    expect(untrustedHeader.length).toBe(firstFileAt);
    writeFileSync(join(releases, 'untrusted.header'), untrustedHeader);
    writeFileSync(join(releases, 'original.header'), readFileSync(release).subarray(0, firstFileAt));
  }, 300_000);

  it('trusts a new release key given through the console (system release-key add, confirmed)', () => {
    const der = createPublicKey(readFileSync(key.publicKey, 'utf8')).export({ format: 'der', type: 'spki' }).toString('base64');
    const added = admin('--yes', 'system', 'release-key', 'add', der);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toContain(`release key ${keyId} is trusted`);
    expect(json(admin('--json', 'system', 'release-key', 'list')).map((k: { id: string }) => k.id)).toContain(keyId);
    expect(probe(`test -f ${PRODUCT}/trusted-keys/${keyId}.pem && echo trusted`).out).toBe('trusted');
  }, 300_000);

  it('takes the release file into media with scp', () => {
    const uploaded = uploadToMedia(release, join(releases, 'untrusted.header'), join(releases, 'original.header'));
    expect(uploaded.status, uploaded.stderr).toBe(0);
    expect(probe(`stat -c %s ${media(basename(release))}`).out).toBe(String(statSync(release).size));
  }, 600_000);

  it('refuses the release with one byte changed, and signed by a key it does not trust: exit 2, the node unchanged', () => {
    const file = media(basename(release));
    const before = { current: current(), installed: installed() };
    expect(before.current).toBe(`releases/${running}`);

    // One byte of the first file's content changed: only its hash can tell.
    const original = readFileSync(release).subarray(firstFileAt, firstFileAt + 1);
    overwriteInGuest(file, firstFileAt, Buffer.from([original[0]! ^ 0x20]));
    const changed = upgradeTo(basename(release));
    expect(changed.status, changed.stderr).toBe(2);
    expect(changed.stderr).toContain(`${firstFile} in the release does not match its signed hash`);
    expect({ current: current(), installed: installed() }).toEqual(before);
    overwriteInGuest(file, firstFileAt, original);

    // Signed by a key this node does not trust.
    overwriteInGuest(file, 0, { mediaFile: 'untrusted.header' });
    const untrusted = upgradeTo(basename(release));
    expect(untrusted.status, untrusted.stderr).toBe(2);
    expect(untrusted.stderr).toMatch(/signed by a key this node does not trust/);
    expect({ current: current(), installed: installed() }).toEqual(before);
    overwriteInGuest(file, 0, { mediaFile: 'original.header' });

    // Nothing of the attempts is left: no staging folder, no fetched copy, no upgrade under way.
    expect(probe(`ls -A ${PRODUCT}/state | grep -E '^(incoming-|upgrade-in-progress)' || true`).out).toBe('');
    expect(upgradeStatus()).toMatchObject({ running, inProgress: null });
  }, 900_000);

  it('survives a power cut right after current switched: the node boots on the old release and serves', async () => {
    const fingerprint = await webFingerprint();
    const started = adminWithin(900_000, '--yes', 'system', 'upgrade', `file://${media(basename(release))}`);
    expect(started.status, started.stderr).toBe(0);
    // The runner switches current, then restarts platformd: QEMU is killed as soon as the switch is seen.
    await until('current to name the new release', () => current() === `releases/${next}`, 600_000, 250);
    process.kill(vm.pid, 'SIGKILL');
    await vm.exited;
    vm = await startVm({ disk, answers, dir, forwards: { ssh: 22, https: 443, stray: STRAY_PORT }, privateLink: { listen: await freeLocalPort(), mac: SECOND_MAC } });
    await bootTime('boot after the power cut');
    await until('platformd after the power cut', () => admin('--json', 'firewall', 'status').status === 0, 600_000, 2000);
    expect(current()).toBe(`releases/${running}`);
    expect(installed()).toBe(running);
    expect(upgradeStatus()).toMatchObject({ running, current: running, inProgress: null, lastAttempt: { kind: 'upgrade', from: running, to: next, result: 'rolled-back' } });
    expect(upgradeStatus().lastAttempt.reason).toMatch(/interrupted \(after the switch\); back on/);
    expect(json(admin('--json', 'firewall', 'status')).applied).toBe(true);
    expect(await webFingerprint()).toBe(fingerprint);
    // Its start checked the release it came back to: no verification failure, and the new release's folder is gone.
    expect(upgradeStatus().verificationFailed).toBeNull();
  }, 1_800_000);

  it('upgrades over http:// through a proxy on the host: settings, users, web certificate and firewall are the same; status shows both versions', async () => {
    // A download server on this machine, named by a name only the proxy resolves; the guest reaches the proxy at QEMU's 10.0.2.2.
    const downloads = createHttpServer((req, res) => {
      createReadStream(join(releases, basename(String(req.url))))
        .on('error', () => res.writeHead(404).end())
        .pipe(res);
    });
    await new Promise<void>((resolve) => downloads.listen(0, '127.0.0.1', resolve));
    const proxy = await startConnectProxy({ names: { 'downloads.example.test': '127.0.0.1' } });
    const where = `downloads.example.test:${(downloads.address() as AddressInfo).port}`;
    try {
      const set = admin('--yes', 'network', 'proxy', `http://10.0.2.2:${new URL(proxy.uri).port}`);
      expect(set.status, set.stderr).toBe(0);
      const ruleset = () => probe('nft -s list table inet platform | grep -v expires').out;
      const before = { info: json(admin('--json', 'system', 'info')), users: json(admin('--json', 'user', 'list')), fingerprint: await webFingerprint(), rules: ruleset() };

      const startedAt = Date.now();
      const upgraded = await adminAsync(900_000, '--yes', 'system', 'upgrade', `http://${where}/${basename(release)}`);
      expect(upgraded.status, upgraded.stderr).toBe(0);
      expect(upgraded.stdout).toContain(`release ${next} is installed beside ${running}`);
      expect(proxy.connects).toEqual([`CONNECT ${where} HTTP/1.1`]);
      await until('the upgrade to finish', () => {
        const answer = admin('--json', 'system', 'upgrade', 'status');
        return answer.status === 0 && JSON.parse(answer.stdout).inProgress === null && JSON.parse(answer.stdout).lastAttempt?.to === next;
      }, 900_000, 3000);
      timings['upgrade over http'] = (Date.now() - startedAt) / 1000;

      expect(upgradeStatus()).toMatchObject({ running: next, current: next, previous: running, lastAttempt: { kind: 'upgrade', from: running, to: next, result: 'upgraded' } });
      expect(current()).toBe(`releases/${next}`);
      const after = json(admin('--json', 'system', 'info'));
      for (const key of ['hostname', 'roles', 'ip', 'ntp', 'dns', 'domain', 'dataCentre']) expect(after[key], key).toEqual(before.info[key]);
      expect(json(admin('--json', 'user', 'list'))).toEqual(before.users);
      expect(await webFingerprint()).toBe(before.fingerprint);
      expect(json(admin('--json', 'firewall', 'status')).applied).toBe(true);
      expect(ruleset()).toBe(before.rules);
      // The daemon serving runs from the new release's folder.
      expect(probe('tr "\\0" " " < /proc/$(systemctl show -P MainPID platformd.service)/cmdline').out).toContain(`${PRODUCT}/current/bin/platformd.js`);
      expect(probe(`readlink -f ${PRODUCT}/current`).out).toBe(`${PRODUCT}/releases/${next}`);
    } finally {
      admin('--yes', 'network', 'proxy', 'del');
      await proxy.close();
      downloads.close();
    }
  }, 1_800_000);
});

describe('reboot and shutdown', () => {
  it('asks before rebooting; refuses without --yes in one-shot use', () => {
    const refused = admin('system', 'reboot');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('add --yes to confirm');
  }, 600_000);

  it('reboots: same settings, same web certificate, the firewall loaded before the network came up', async () => {
    const before = json(admin('--json', 'system', 'info'));
    const fingerprint = await webFingerprint();
    const bootId = probe('cat /proc/sys/kernel/random/boot_id').out;
    const reboot = admin('--yes', 'system', 'reboot');
    expect(reboot.status, reboot.stderr).toBe(0);
    expect(reboot.stdout).toContain('rebooting');
    // The banner goes away, then comes back.
    await until('the node going down', async () => !(await waitForSshBanner(vm.ports.ssh, 3000).then(() => true, () => false)), 300_000, 500);
    await bootTime('reboot');
    await until('platformd after the reboot', () => admin('--json', 'firewall', 'status').status === 0, 600_000, 2000);
    expect(probe('cat /proc/sys/kernel/random/boot_id').out).not.toBe(bootId);
    const after = json(admin('--json', 'system', 'info'));
    for (const key of ['hostname', 'roles', 'ip', 'ntp', 'dns', 'domain', 'dataCentre']) expect(after[key], key).toEqual(before[key]);
    expect(json(admin('--json', 'firewall', 'status')).applied).toBe(true);
    expect(await webFingerprint()).toBe(fingerprint);
    // The confirmed static address is there again, from networkd's file.
    await until('the static address of the second NIC after the reboot', () => probe(`ip -4 -o addr show dev ${interfaceWith(SECOND_MAC)}`).out.includes('10.78.0.5/24'), 300_000, 2000);
    // The journal of this boot: the firewall table loaded before the network came up.
    const journal = probe("journalctl -b -o short-monotonic --no-pager | grep -E 'platform-firewall.service|network-pre.target|systemd-networkd.service'").out;
    const lines = journal.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    const firewall = at(/Finished platform-firewall\.service/);
    const networkPre = at(/Reached target network-pre\.target/);
    const networkd = at(/Started systemd-networkd\.service/);
    expect(firewall, journal).toBeGreaterThanOrEqual(0);
    expect(networkPre, journal).toBeGreaterThan(firewall);
    expect(networkd, journal).toBeGreaterThan(networkPre);
    const audit = json(admin('--json', 'log', 'audit', '--limit', '200')) as { words: string; outcome: string }[];
    expect(audit).toContainEqual(expect.objectContaining({ words: 'system reboot', outcome: 'ok' }));
  }, 1_800_000);

  it('powers off with system shutdown: QEMU exits', async () => {
    const shutdown = admin('--yes', 'system', 'shutdown');
    expect(shutdown.status, shutdown.stderr).toBe(0);
    const code = await Promise.race([vm.exited, new Promise((r) => setTimeout(() => r('still running'), 600_000))]);
    expect(code).toBe(0);
  }, 700_000);
});
