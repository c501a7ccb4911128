// Rebooting and powering off the appliance, through systemd. The command's
// answer (and its audit entry) must reach the administrator before the SSH
// session goes down with the rest of the system, so systemd is asked a
// moment after the reply rather than during it.

import { runProcess } from '../os/processes.js';

export type PowerAction = 'reboot' | 'poweroff';

/** Time for the reply to travel back over SSH before systemd starts stopping things. */
export const POWER_DELAY_MS = 1500;

/** Asks systemd for the action after `delayMs`; a refusal goes to the daemon's log (the journal). */
export function schedulePowerAction(action: PowerAction, delayMs = POWER_DELAY_MS, log = (message: string) => process.stderr.write(`${new Date().toISOString()} error ${message}\n`)): void {
  setTimeout(() => {
    runProcess('systemctl', [action], { timeoutMs: 30_000, maxOutputBytes: 64 * 1024 }).then(
      (result) => {
        if (result.status !== 0) log(`systemctl ${action} failed: ${result.stderr.trim() || `exit ${result.status ?? result.signal}`}`);
      },
      (error: Error) => log(`systemctl ${action} failed: ${error.message}`),
    );
  }, delayMs).unref();
}
