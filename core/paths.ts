// The node's data folder (PLATFORM_HOME). Every file the product keeps lives
// under it, so one path decides where a node's state is.

import { join, resolve } from 'node:path';

export interface Paths {
  home: string;
  database: string;
  /** Where administrators upload files (scp platform@host:media/). */
  media: string;
  certs: string;
  logs: string;
  run: string;
  socket: string;
  pidFile: string;
  /** One token file per console user, readable by that user only (daemon/identity.ts). */
  userTokens: string;
  /** Per-user console history. */
  history: string;
  /** Generated configuration of the services the product drives (nginx ...). */
  etc: string;
  firewall: string;
  /** The web server's installed chain, leaf first (PEM): nginx, the banner and the certificate commands read it. */
  webCertificate: string;
  /** Its private key (PEM, mode 0600, never printed). */
  webKey: string;
}

/** On an appliance the home is /opt/platform; elsewhere PLATFORM_HOME or --home. */
export const APPLIANCE_HOME = '/opt/platform';

export function resolveHome(flag?: string): string {
  return resolve(flag ?? process.env.PLATFORM_HOME ?? APPLIANCE_HOME);
}

export function pathsFor(home: string): Paths {
  const run = join(home, 'run');
  const certs = join(home, 'certs');
  return {
    home,
    database: join(home, 'config.db'),
    media: join(home, 'media'),
    certs,
    logs: join(home, 'logs'),
    run,
    socket: join(run, 'platformd.sock'),
    pidFile: join(run, 'platformd.pid'),
    userTokens: join(run, 'users'),
    history: join(home, 'history'),
    etc: join(home, 'etc'),
    firewall: join(home, 'firewall'),
    webCertificate: join(certs, 'web', 'fullchain.pem'),
    webKey: join(certs, 'web', 'privkey.pem'),
  };
}
