// The web subsystem: at first start a self-signed certificate for the node's
// names, then nginx with the generated configuration; a daily look at the
// certificate's expiry is the events monitor's (events/monitor.ts), which
// raises it as the banner shows it.

import type { Subsystem } from '../core/runtime.js';
import { WebService } from './service.js';

export const webSubsystem: Subsystem = {
  name: 'web',
  async start(runtime) {
    const web = new WebService(runtime);
    runtime.services.web = web;
    // A web server that cannot start must not keep the node's daemon (and its firewall) down.
    await web.start().catch((error) => runtime.log('error', `web: ${(error as Error).message}`));
    return async () => {
      await web.nginx.stop();
    };
  },
};
