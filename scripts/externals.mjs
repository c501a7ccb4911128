// The modules the bundles leave to node_modules (scripts/build.mjs): native
// addons, and Ink's optional development hook. Everything else of
// node_modules is inside dist/, so a release carries these, with what they
// need at run time, and nothing more (scripts/release.mjs).
export const EXTERNAL_MODULES = ['better-sqlite3', 'node-pty', 'ssh2', 'cpu-features', 'react-devtools-core'];
