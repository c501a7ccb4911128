// Rebooting and powering off the appliance, through systemd. The command's
// answer (and its audit entry) must reach the administrator before the SSH
// session goes down with the rest of the system, so systemd is asked a
// moment after the reply rather than during it.

import { execFile } from 'node:child_process';

export type PowerAction = 'reboot' | 'poweroff';

/** Time for the reply to travel back over SSH before systemd starts stopping things. */
export const POWER_DELAY_MS = 1500;

/** Asks systemd for the action after `delayMs`; a refusal goes to the daemon's log (the journal). */
export function schedulePowerAction(action: PowerAction, delayMs = POWER_DELAY_MS, log = (message: string) => process.stderr.write(`${new Date().toISOString()} error ${message}\n`)): void {
  setTimeout(() => {
    execFile('systemctl', [action], { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error) log(`systemctl ${action} failed: ${(stderr || error.message).trim()}`);
    });
  }, delayMs).unref();
}
