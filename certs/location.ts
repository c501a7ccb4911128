// Where the web server's certificate and key live. The banner, nginx and the
// certificate commands all read these two paths.

import { join } from 'node:path';
import type { Paths } from '../core/paths.js';

/** The installed chain, leaf first (PEM). */
export const webCertificateFile = (paths: Paths): string => join(paths.certs, 'web', 'fullchain.pem');

/** The installed private key (PEM, mode 0600, never printed). */
export const webKeyFile = (paths: Paths): string => join(paths.certs, 'web', 'privkey.pem');
