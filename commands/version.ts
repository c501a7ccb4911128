// The product's version (core/version.ts) and the runtime it runs on. Its own
// small module: `platform --version` loads nothing else.

import { PLATFORM_VERSION } from '../core/version.js';

export { PLATFORM_VERSION };

/** `platform 0.1.0 (Node 26.12.1)` */
export const versionLine = (program: string): string => `${program} ${PLATFORM_VERSION} (Node ${process.versions.node})`;
