// The SSH side of platformd. Console users are operating-system accounts on
// an appliance (or with --accounts-shell); there, sshd's drop-in and PAM
// service are also brought in line with this version of the product at start.

import type { Subsystem } from '../core/runtime.js';
import { reportSkipped } from '../core/skipped.js';
import { OsAccounts, consoleGroupName, faillockDir } from './accounts.js';
import { installOpenSsh } from './openssh.js';

declare module '../core/context.js' {
  interface Services {
    /** Present when console users are operating-system accounts. */
    accounts?: OsAccounts;
  }
}

export const sshSubsystem: Subsystem = {
  name: 'ssh',
  async start(runtime) {
    const { accountsShell, appliance } = runtime.options;
    if (accountsShell) {
      runtime.services.accounts = new OsAccounts({ shell: accountsShell, group: consoleGroupName(), home: runtime.paths.home, faillockDir: faillockDir(runtime.paths) });
    }
    if (!appliance) return;
    try {
      const { written, reloaded, skipped } = installOpenSsh(runtime.paths);
      if (written.length) runtime.log('info', `ssh: wrote ${written.join(', ')}${reloaded ? '; sshd reloaded' : ''}`);
      reportSkipped(runtime, 'sshd', skipped);
    } catch (error) {
      // sshd keeps its previous configuration; the node must still come up.
      runtime.log('error', `ssh: ${(error as Error).message}`);
    }
  },
};
