// The booted appliance: how long the node image takes under QEMU (TCG here)
// to its SSH banner and to an applied firewall, against the plain base disk
// (Debian, systemd, OpenSSH: no product) booting to its SSH banner in the same
// run. Both are first boots, one VM at a time, each stopped by its PID.
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
const log = (line) => process.stderr.write(`  ${line}\n`);

const image = await ensureImage({ log: () => {} });

/** Boots a copy of `source` and measures; the VM is stopped whatever happens. */
async function boot(source, { answers, measure }) {
  const dir = tempDir('ps-bench-vm-');
  const disk = testDisk(source, dir);
  const vm = await startVm({ disk, dir, answers: answers?.(dir) });
  const start = Date.now();
  try {
    const banner = await waitForSshBanner(vm.ports.ssh, 300_000, vm.exited);
    const extra = measure ? await measure(vm, start) : {};
    return { banner, ...extra };
  } finally {
    await vm.stop();
  }
}

/** Milliseconds from QEMU's start until `firewall status` over SSH says applied. */
async function untilFirewallApplied(vm, start, dir) {
  for (;;) {
    const result = spawnSync(
      'ssh',
      ['-i', join(dir, 'key'), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-p', String(vm.ports.ssh), '--', 'platform@127.0.0.1', '--json', 'firewall', 'status'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (result.status === 0 && JSON.parse(result.stdout).applied === true) return Date.now() - start;
    if (Date.now() - start > 300_000) throw new Error(`firewall not applied after 300 s: ${result.stderr}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const baseBanner = [];
const imageBanner = [];
const imageFirewall = [];
for (let run = 0; run < RUNS; run++) {
  const base = await boot(image.baseDisk.path, {});
  baseBanner.push(base.banner);
  log(`base disk: SSH banner ${(base.banner / 1000).toFixed(1)} s`);

  const keyDir = tempDir('ps-bench-key-');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'key')]);
  const node = await boot(image.image, {
    answers: (dir) => answersDisk(dir, `HOSTNAME=bench01\nROLE=unified\nADMIN_KEY=${readFileSync(join(keyDir, 'key.pub'), 'utf8').trim()}\n`),
    measure: async (vm, start) => ({ firewall: await untilFirewallApplied(vm, start, keyDir) }),
  });
  imageBanner.push(node.banner);
  imageFirewall.push(node.firewall);
  log(`image: SSH banner ${(node.banner / 1000).toFixed(1)} s, firewall applied ${(node.firewall / 1000).toFixed(1)} s`);
}

report(`boot under QEMU (${process.env.PLATFORM_IMAGE_ACCEL ?? 'tcg'}), ${RUNS} boot(s) each, first boot`, [
  { name: 'image: SSH banner', ms: median(imageBanner), baselineName: 'base disk: SSH banner', baselineMs: median(baseBanner), aim: '<= 1.3x' },
  { name: 'image: firewall applied', ms: median(imageFirewall), baselineName: 'base disk: SSH banner', baselineMs: median(baseBanner) },
]);
