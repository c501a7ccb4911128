// Boots a node image in QEMU for the image test and the benchmark (plain
// JavaScript so that bench/ shares it). TCG by default (KVM guests hang on
// these machines; PLATFORM_IMAGE_ACCEL=kvm where they run), user-mode
// networking whose host forwards listen on 127.0.0.1 only, first-boot
// answers on a small second disk labelled PS-SETUP; optionally a second NIC
// on a private socket netdev between two VMs (127.0.0.1 only, nothing
// bridged). The VM is stopped by its PID; QEMU exits by itself when the
// guest powers off, and dies with the process that started it (an exit
// handler, and the kernel's parent-death signal when that process is killed).

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

const ACCELERATOR = process.env.PLATFORM_IMAGE_ACCEL ?? 'tcg';
/** Where the base disk's root partition starts (packer/base-disk.sh). */
const ROOT_PARTITION_OFFSET = 2048 * 512;

/** A free TCP port on 127.0.0.1 (for a forward). */
export function freeLocalPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The answers disk: an 8 MB ext4 filesystem labelled PS-SETUP holding setup.answers (no mount needed). */
export function answersDisk(dir, answers) {
  const content = join(dir, 'answers');
  mkdirSync(content, { recursive: true });
  writeFileSync(join(content, 'setup.answers'), answers, { mode: 0o600 });
  const disk = join(dir, 'answers.img');
  execFileSync('truncate', ['-s', '8M', disk]);
  execFileSync('mkfs.ext4', ['-q', '-L', 'PS-SETUP', '-d', content, disk]);
  return disk;
}

/**
 * A disk of its own for one test run, from a (cached, never changed) image.
 * `probeKey`: a public key for a `probe` account with sudo, the test's way
 * to look at the guest's OS as root (the product's accounts land in the
 * console). It is added to the test's copy only, never to the built image.
 */
export function testDisk(image, dir, { probeKey } = {}) {
  const disk = join(dir, 'disk.raw');
  execFileSync('qemu-img', ['convert', '-O', 'raw', image, disk]);
  if (probeKey) {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-o', `loop,offset=${ROOT_PARTITION_OFFSET}`, disk, mnt]);
    try {
      const inRoot = (...args) => execFileSync('chroot', [mnt, 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...args]);
      inRoot('useradd', '--create-home', '--shell', '/bin/bash', '--password', '*', 'probe');
      mkdirSync(join(mnt, 'home/probe/.ssh'), { recursive: true, mode: 0o700 });
      writeFileSync(join(mnt, 'home/probe/.ssh/authorized_keys'), probeKey, { mode: 0o600 });
      inRoot('chown', '-R', 'probe:probe', '/home/probe/.ssh');
      writeFileSync(join(mnt, 'etc/sudoers.d/probe'), 'probe ALL=(ALL) NOPASSWD:ALL\n', { mode: 0o440 });
    } finally {
      execFileSync('umount', [mnt]);
    }
  }
  return disk;
}

/** Resolves with the milliseconds until 127.0.0.1:port sends an SSH banner (a forward accepts before the guest listens). */
export async function waitForSshBanner(port, timeoutMs, exited) {
  const start = Date.now();
  let gone = false;
  exited?.then(() => (gone = true));
  while (Date.now() - start < timeoutMs) {
    if (gone) throw new Error('the VM exited before SSH answered');
    const banner = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      const done = (value) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(2000, () => done(false));
      socket.on('data', (d) => {
        data += d;
        if (data.includes('\n')) done(data.startsWith('SSH-2.0-'));
      });
      socket.on('error', () => done(false));
      socket.on('close', () => done(false));
    });
    if (banner) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no SSH banner on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** QEMU processes still running, killed when this process exits however it ends. */
const liveQemu = new Set();
process.once('exit', () => {
  for (const pid of liveQemu) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

/**
 * The second NIC of a private link between two VMs: a QEMU socket netdev,
 * one side listening on 127.0.0.1:port, the other connecting to it.
 */
function privateLinkArgs({ listen, connect, mac }) {
  if (!mac || !/^52:54:00(:[0-9a-f]{2}){3}$/.test(mac)) throw new Error(`privateLink.mac: a QEMU MAC address 52:54:00:xx:xx:xx, not ${mac}`);
  if ((listen === undefined) === (connect === undefined)) throw new Error('privateLink: either listen or connect, with a port');
  const endpoint = listen !== undefined ? `listen=127.0.0.1:${Number(listen)}` : `connect=127.0.0.1:${Number(connect)}`;
  return ['-netdev', `socket,id=n1,${endpoint}`, '-device', `virtio-net-pci,netdev=n1,mac=${mac}`];
}

/**
 * Starts QEMU. `forwards` maps a name to a guest TCP port; each gets a free
 * host port on 127.0.0.1. `privateLink` ({ listen | connect: port, mac }) adds
 * a NIC on a socket netdev to another VM (start the listening one first).
 * Returns { pid, ports, exited, console(), stop() }.
 */
export async function startVm({ disk, format = 'raw', answers, forwards = { ssh: 22 }, dir, memory = 1024, cpus = 2, privateLink }) {
  const ports = {};
  for (const [name, guest] of Object.entries(forwards)) ports[name] = { host: await freeLocalPort(), guest };
  const hostfwd = Object.values(ports)
    .map((p) => `hostfwd=tcp:127.0.0.1:${p.host}-:${p.guest}`)
    .join(',');
  const consoleLog = join(dir, 'console.log');
  const args = [
    '-machine', `q35,accel=${ACCELERATOR}`, '-cpu', 'max', '-smp', String(cpus), '-m', String(memory),
    '-display', 'none', '-monitor', 'none', '-serial', `file:${consoleLog}`,
    '-drive', `file=${disk},format=${format},if=virtio`,
    ...(answers ? ['-drive', `file=${answers},format=raw,if=virtio,readonly=on`] : []),
    '-netdev', `user,id=n0,${hostfwd}`, '-device', 'virtio-net-pci,netdev=n0',
    ...(privateLink ? privateLinkArgs(privateLink) : []),
    '-device', 'virtio-rng-pci',
  ];
  // setpriv execs QEMU (same PID) with SIGKILL as its parent-death signal.
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', 'qemu-system-x86_64', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  liveQemu.add(child.pid);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  let alive = true;
  exited.then(() => {
    alive = false;
    liveQemu.delete(child.pid);
  });
  return {
    pid: child.pid,
    ports: Object.fromEntries(Object.entries(ports).map(([name, p]) => [name, p.host])),
    exited,
    running: () => alive,
    stderr: () => stderr,
    console: () => {
      try {
        return readFileSync(consoleLog, 'utf8');
      } catch {
        return '';
      }
    },
    async stop() {
      if (!alive) return;
      const signal = (name) => {
        try {
          process.kill(child.pid, name);
        } catch {
          // exited meanwhile
        }
      };
      signal('SIGTERM');
      const timer = setTimeout(() => alive && signal('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
