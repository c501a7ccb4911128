// The subsystems platformd starts, in order, and stops in reverse order.
// The event bus comes first (it only records, and has nothing to stop), then
// the firewall ("first up, last down"). Each is loaded only
// when the daemon starts, so the console never pays for their imports.

import type { Subsystem } from '../core/runtime.js';

export const subsystems: readonly (() => Promise<Subsystem>)[] = [
  async () => (await import('./events.js')).eventBusSubsystem,
  async () => (await import('../firewall/subsystem.js')).firewallSubsystem,
  async () => (await import('../net/static-subsystem.js')).staticNetworkSubsystem,
  async () => (await import('../apps/service-manager.js')).appsSubsystem,
  async () => (await import('../web/subsystem.js')).webSubsystem,
  async () => (await import('../cluster/subsystem.js')).clusterSubsystem,
  async () => (await import('../ssh/subsystem.js')).sshSubsystem,
  async () => (await import('./schedule.js')).scheduleSubsystem,
  async () => (await import('./snmp.js')).snmpSubsystem,
  async () => (await import('./logs.js')).logsSubsystem,
  async () => (await import('./events.js')).eventsSubsystem,
];
