// The cluster subsystem: the node's cluster identity and its agent on the
// cluster port. Commands from other members run through the daemon's own
// executor (runtime.services.execute), audited with the peer's address.

import type { Subsystem } from '../core/runtime.js';
import { ClusterService } from './service.js';

export const clusterSubsystem: Subsystem = {
  name: 'cluster',
  async start(runtime) {
    const cluster = new ClusterService(runtime);
    runtime.services.cluster = cluster;
    // An agent that cannot listen must not keep the node's daemon (and its firewall) down.
    await cluster.start().catch((error) => runtime.log('error', `cluster agent: ${(error as Error).message}`));
    return () => cluster.stop();
  },
};
