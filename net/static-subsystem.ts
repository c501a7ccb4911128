// Static networking's part of platformd: puts back a change left unconfirmed
// when the daemon last stopped, then holds the confirmation window.

import type { Subsystem } from '../core/runtime.js';
import { StaticNetworkService } from './static-service.js';

export const staticNetworkSubsystem: Subsystem = {
  name: 'static-network',
  async start(runtime) {
    const service = new StaticNetworkService(runtime);
    runtime.services.staticNetwork = service;
    await service.start();
    return async () => service.stop();
  },
};
