// The product's version (package.json, put in by the build) and the runtime
// it runs on. Its own small module: `platform --version` loads nothing else.

declare const __PLATFORM_VERSION__: string | undefined;
export const PLATFORM_VERSION = typeof __PLATFORM_VERSION__ === 'string' ? __PLATFORM_VERSION__ : 'development';

/** `platform 0.1.0 (Node 26.12.1)` */
export const versionLine = (program: string): string => `${program} ${PLATFORM_VERSION} (Node ${process.versions.node})`;
