// Which services an updated package touches: one table, package -> the
// systemd units that keep running its old code until restarted. A library
// lists every unit of the node that loads it; platformd's own runtime
// libraries restart platformd, last, once its answer has left.

import { runProcess } from '../os/processes.js';

export const PLATFORMD_UNIT = 'platformd';

/** Package -> units to restart when it changes. Names without `:arch`. */
export const RESTARTS: Readonly<Record<string, readonly string[]>> = {
  nginx: ['nginx'],
  'nginx-light': ['nginx'],
  'nginx-core': ['nginx'],
  'nginx-common': ['nginx'],
  'openssh-server': ['ssh'],
  'openssh-sftp-server': ['ssh'],
  snmpd: ['platform-snmpd'],
  libsnmp40: ['platform-snmpd'],
  chrony: ['chrony'],
  // Libraries: every unit above that loads them, and platformd's own runtime (Node links libc, libstdc++, libgcc, zlib and OpenSSL's libcrypto through libssl3).
  libc6: [PLATFORMD_UNIT, 'nginx', 'ssh', 'platform-snmpd', 'chrony'],
  libssl3: [PLATFORMD_UNIT, 'nginx', 'ssh', 'platform-snmpd'],
  zlib1g: [PLATFORMD_UNIT, 'nginx', 'ssh'],
  'libstdc++6': [PLATFORMD_UNIT],
  'libgcc-s1': [PLATFORMD_UNIT],
  libatomic1: [PLATFORMD_UNIT],
  'libpcre2-8-0': ['nginx'],
};

/** The units to restart after these packages changed, each once, platformd last. */
export function unitsFor(packages: readonly string[]): string[] {
  const units = new Set(packages.flatMap((p) => RESTARTS[p.split(':')[0]!] ?? []));
  return [...units].sort((a, b) => Number(a === PLATFORMD_UNIT) - Number(b === PLATFORMD_UNIT) || a.localeCompare(b));
}

/** Restarts a unit that runs (try-restart: a unit that is stopped stays stopped); its failure is said, not thrown. */
export async function restartUnit(unit: string): Promise<string | undefined> {
  try {
    const result = await runProcess('systemctl', ['try-restart', `${unit}.service`], { timeoutMs: 120_000, maxOutputBytes: 64 * 1024 });
    return result.status === 0 ? undefined : `systemctl try-restart ${unit}: ${result.stderr.trim().slice(0, 200) || `exit ${result.status ?? result.signal}`}`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Time for the answer to reach the administrator before platformd itself restarts. */
export const SELF_RESTART_DELAY_MS = 1500;

/** platformd restarts itself through systemd a moment after its answer left (as a reboot does: appliance/power.ts). */
export function restartPlatformdLater(log: (message: string) => void): void {
  setTimeout(() => {
    void restartUnit(PLATFORMD_UNIT).then((problem) => problem && log(problem));
  }, SELF_RESTART_DELAY_MS).unref();
}
