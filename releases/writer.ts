// What scripts/release.mjs needs from the product to write a release file:
// the writer and the store's schema version (its latest migration).

export { writeRelease, releaseFileName, type ReleaseSource } from './container.js';
export { keyIdOf } from './manifest.js';
export { latestVersion as storeSchemaVersion } from '../store/migrations.js';
