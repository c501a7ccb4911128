// Wires the SNMP agent (snmp/agent.ts) into platformd: services.snmp for
// the `snmp` commands, the agent started with the daemon, and an agent that
// dies by itself raised as an event.

import { hostname as osHostname } from 'node:os';
import { serviceNamed } from '../catalog/services.js';
import { SnmpAgent } from '../snmp/agent.js';
import { nodeOrDefault } from '../store/node.js';
import type { Subsystem } from '../core/runtime.js';
import { reportSkipped } from '../core/skipped.js';

declare module '../core/context.js' {
  interface Services {
    snmp?: SnmpAgent;
  }
}

/** The catalog's SNMP service lists the agent's port first (161), then the trap port. */
const AGENT_PORT = serviceNamed('snmp')!.ports[0]!.port;

export const snmpSubsystem: Subsystem = {
  name: 'snmp agent',
  async start(runtime) {
    const agent = new SnmpAgent({
      store: runtime.store,
      etc: runtime.paths.etc,
      run: runtime.paths.run,
      appliance: runtime.options.appliance,
      agentPort: AGENT_PORT,
      hostname: () => nodeOrDefault(runtime.store, osHostname()).hostname,
      log: runtime.log,
      died: (text) => runtime.services.events?.raise({ name: 'app-stopped', level: 'error', text }),
      skipped: (values) => reportSkipped(runtime, 'snmpd', values),
    });
    runtime.services.snmp = agent;
    // An agent that cannot start must not keep the node's daemon (and its firewall) down.
    await agent.start().catch((error) => runtime.log('error', `snmp agent: ${(error as Error).message}`));
    return () => agent.stop();
  },
};
