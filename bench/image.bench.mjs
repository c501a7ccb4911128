// The booted appliance: how long the node image takes under QEMU (TCG here)
// to its SSH banner, to its firewall table in the kernel, and to platformd
// ready (it tells systemd only once its API serves and the firewall has
// reconciled), against the plain base disk (Debian, systemd, OpenSSH: no
// product) booting to its SSH banner in the same run. Both are first boots,
// one VM at a time, each stopped by its PID.
// The banner is timed from the host. The other two are the guest's own
// systemd timestamps, read once the boot is over through a probe account
// and put on the host's clock by the SSH banner (ssh.service is Type=notify:
// it is active when sshd listens). Asking the console over and over instead
// would start Node in the guest every second and slow the boot it measures.
// A boot is a long sample (20-60 s on these machines): one run each by
// default, PLATFORM_BENCH_BOOTS=N for more (medians). The image comes from
// the cache that npm test fills (built here if missing: a few minutes more).

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, report, tempDir } from './lib.mjs';
import { ensureImage } from '../packer/image.mjs';
import { answersDisk, startVm, testDisk, waitForSshBanner } from '../test/support/vm.mjs';

const RUNS = Number(process.env.PLATFORM_BENCH_BOOTS ?? 1);
const UNITS = ['ssh.service', 'platform-firewall.service', 'platformd.service'];
const log = (line) => process.stderr.write(`  ${line}\n`);

const image = await ensureImage({ log: () => {} });

/** Boots a copy of `source` and measures; the VM is stopped whatever happens. */
async function boot(source, { answers, probeKey, measure }) {
  const dir = tempDir('ps-bench-vm-');
  const disk = testDisk(source, dir, { probeKey });
  const vm = await startVm({ disk, dir, answers: answers?.(dir) });
  try {
    const banner = await waitForSshBanner(vm.ports.ssh, 300_000, vm.exited);
    const extra = measure ? await measure(vm, banner) : {};
    return { banner, ...extra };
  } finally {
    await vm.stop();
  }
}

/**
 * The guest's systemd timestamps (microseconds since its kernel started) of
 * the units becoming active, once platformd is; waits for it, asking every 2 s.
 */
async function activeTimestamps(vm, keyDir) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const result = spawnSync(
      'ssh',
      ['-i', join(keyDir, 'key'), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-p', String(vm.ports.ssh), '--', 'probe@127.0.0.1',
        `systemctl show -p Id,ActiveEnterTimestampMonotonic ${UNITS.join(' ')}`],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const units = Object.fromEntries(
      result.stdout.trim().split('\n\n').map((block) => {
        const fields = Object.fromEntries(block.split('\n').map((line) => line.split('=', 2)));
        return [fields.Id, Number(fields.ActiveEnterTimestampMonotonic)];
      }),
    );
    if (UNITS.every((unit) => units[unit] > 0)) return units;
    if (Date.now() > deadline) throw new Error(`platformd not ready after 300 s: ${result.stderr}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const baseBanner = [];
const imageBanner = [];
const imageTable = [];
const imageReady = [];
for (let run = 0; run < RUNS; run++) {
  const base = await boot(image.baseDisk.path, {});
  baseBanner.push(base.banner);
  log(`base disk: SSH banner ${(base.banner / 1000).toFixed(1)} s`);

  const keyDir = tempDir('ps-bench-key-');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'key')]);
  const publicKey = readFileSync(join(keyDir, 'key.pub'), 'utf8').trim();
  const node = await boot(image.image, {
    answers: (dir) => answersDisk(dir, `HOSTNAME=bench01\nROLE=unified\nADMIN_KEY=${publicKey}\n`),
    probeKey: publicKey,
    measure: async (vm, banner) => {
      const units = await activeTimestamps(vm, keyDir);
      // Host milliseconds since QEMU started = the banner's, moved by the guest's distance from sshd listening.
      const onHostClock = (unit) => banner + (units[unit] - units['ssh.service']) / 1000;
      return { table: onHostClock('platform-firewall.service'), ready: onHostClock('platformd.service') };
    },
  });
  imageBanner.push(node.banner);
  imageTable.push(node.table);
  imageReady.push(node.ready);
  log(`image: SSH banner ${(node.banner / 1000).toFixed(1)} s, firewall table loaded ${(node.table / 1000).toFixed(1)} s, platformd ready ${(node.ready / 1000).toFixed(1)} s`);
}

report(`boot under QEMU (${process.env.PLATFORM_IMAGE_ACCEL ?? 'tcg'}), ${RUNS} boot(s) each, first boot`, [
  { name: 'image: SSH banner', ms: median(imageBanner), baselineName: 'base disk: SSH banner', baselineMs: median(baseBanner), aim: '<= 1.3x' },
  { name: 'image: firewall table in the kernel (before the network)', ms: median(imageTable), baselineName: 'base disk: SSH banner', baselineMs: median(baseBanner), aim: '<= 1.3x' },
  { name: 'image: platformd ready (its firewall reconciled)', ms: median(imageReady), baselineName: 'base disk: SSH banner', baselineMs: median(baseBanner), aim: '<= 1.3x' },
]);
