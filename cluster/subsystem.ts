// The cluster subsystem: the node's cluster identity and its agent on the
// cluster port. Commands from other members run through the daemon's own
// executor, audited with the peer's address.

import { runNonInteractive } from '../daemon/execute.js';
import type { Subsystem } from '../core/runtime.js';
import { renderBlocks } from '../core/text.js';
import { ClusterService } from './service.js';

export const clusterSubsystem: Subsystem = {
  name: 'cluster',
  async start(runtime) {
    const cluster = new ClusterService(runtime, async (words, caller) => {
      const answer = await runNonInteractive(runtime, words, caller);
      return answer.type === 'result'
        ? { exitStatus: answer.exitStatus, text: renderBlocks(answer.blocks), data: answer.data }
        : { exitStatus: answer.exitStatus, text: answer.message, data: { error: answer.message } };
    });
    runtime.services.cluster = cluster;
    // An agent that cannot listen must not keep the node's daemon (and its firewall) down.
    await cluster.start().catch((error) => runtime.log('error', `cluster agent: ${(error as Error).message}`));
    return () => cluster.stop();
  },
};
