// The web subsystem: at first start a self-signed certificate for the node's
// names, then nginx with the generated configuration; a daily look at the
// certificate's expiry, logged (an expired certificate keeps being served).

import type { Subsystem } from '../daemon/runtime.js';
import { certificateLine } from '../status/banner.js';
import { readCertificateDates } from '../status/facts.js';
import { webCertificateFile } from '../certs/location.js';
import { WebService } from './service.js';

const DAY_MS = 86_400_000;

export const webSubsystem: Subsystem = {
  name: 'web',
  async start(runtime) {
    const web = new WebService(runtime);
    runtime.services.web = web;
    // A web server that cannot start must not keep the node's daemon (and its firewall) down.
    await web.start().catch((error) => runtime.log('error', `web: ${(error as Error).message}`));
    const checkExpiry = () => {
      const dates = readCertificateDates(webCertificateFile(runtime.paths));
      const line = dates && certificateLine(dates, new Date());
      if (line) runtime.log('warn', line);
    };
    checkExpiry();
    const timer = setInterval(checkExpiry, DAY_MS);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await web.nginx.stop();
    };
  },
};
