// The firewall subsystem: first up, last down. It applies the ruleset before
// any other subsystem starts, and leaves it in the kernel when the daemon
// stops, so the node is never unprotected.

import type { Subsystem } from '../core/runtime.js';
import { FirewallService } from './service.js';

export const firewallSubsystem: Subsystem = {
  name: 'firewall',
  async start(runtime) {
    const firewall = new FirewallService(runtime);
    runtime.services.firewall = firewall;
    runtime.services.applicationDown = () => firewall.down();
    const result = await firewall.reconcile(true);
    runtime.log(result.applied ? 'info' : 'warn', `firewall ${result.applied ? `applied in ${result.ms.toFixed(0)} ms` : `not applied: ${result.reason}`}`);
    firewall.start();
    // Stopping leaves the table in the kernel ("last down").
    return async () => firewall.stop();
  },
};
