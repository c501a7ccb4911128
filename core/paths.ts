// The node's data folder (PLATFORM_HOME). Every file the product keeps lives
// under it, so one path decides where a node's state is.

import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

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

/** On an appliance the home is /opt/platform; in a checkout its .platform (as `npm start`); --home or PLATFORM_HOME choose another. */
export const APPLIANCE_HOME = '/opt/platform';

export function resolveHome(flag?: string, checkout = checkoutRoot()): string {
  return resolve(flag ?? process.env.PLATFORM_HOME ?? (checkout ? join(checkout, '.platform') : APPLIANCE_HOME));
}

/**
 * The source checkout the running program belongs to (its bin/ or dist/
 * beside scripts/start.mjs, which `npm start` runs), or undefined for an
 * installed product (an appliance has no scripts/).
 */
export function checkoutRoot(program = process.argv[1]): string | undefined {
  if (!program) return undefined;
  try {
    const root = dirname(dirname(realpathSync(program)));
    return existsSync(join(root, 'scripts', 'start.mjs')) ? root : undefined;
  } catch {
    return undefined;
  }
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
