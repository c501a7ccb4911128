// Bundles the two programs into dist/ with esbuild. The console must start
// fast over SSH, so it is one bundle split at its dynamic imports: the Ink
// console and each command's heavy parts load only when used.

import './runtime.mjs';
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { EXTERNAL_MODULES } from './externals.mjs';

// A release of another version (scripts/release.mjs) builds into its own folder with its own version.
const version = process.env.PLATFORM_BUILD_VERSION ?? JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const outdir = process.env.PLATFORM_BUILD_OUT ?? 'dist';

rmSync(outdir, { recursive: true, force: true });
await build({
  // platform-release: the upgrade runner and boot path; release-writer: what scripts/release.mjs writes releases with.
  // store-worker: the worker thread that reads a restored store (store/staged.ts finds it beside platformd.js).
  entryPoints: { platform: 'shell/main.ts', platformd: 'daemon/main.ts', 'store-worker': 'store/staged-worker.ts', 'platform-release': 'releases/cli.ts', 'release-writer': 'releases/writer.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node26',
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  external: EXTERNAL_MODULES,
  define: { __PLATFORM_VERSION__: JSON.stringify(version), 'process.env.NODE_ENV': '"production"' },
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
