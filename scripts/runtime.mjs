// The project's scripts run on its Node runtime (.runtime/node, the version
// in .node-version, installed by scripts/setup.sh). Imported first by each
// script: started by another node (the machine's), the script runs itself
// again on the runtime; on the runtime, the runtime's bin goes first on PATH
// so that `npx` and every `#!/usr/bin/env node` child use it too.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const nodeVersion = readFileSync(`${root}.node-version`, 'utf8').trim();
export const runtimeDir = `${root}.runtime/node`;

const env = { ...process.env, PATH: `${runtimeDir}/bin:${process.env.PATH ?? ''}`, npm_config_nodedir: runtimeDir };

if (process.versions.node !== nodeVersion) {
  const node = `${runtimeDir}/bin/node`;
  if (!existsSync(node)) {
    console.error(`${process.argv[1]}: needs Node ${nodeVersion} in ${runtimeDir} (this is ${process.version}); run: sh scripts/setup.sh`);
    process.exit(1);
  }
  // The child gets the terminal's signals itself; this process only waits.
  for (const signal of ['SIGINT', 'SIGQUIT', 'SIGHUP']) process.on(signal, () => {});
  const { status, signal } = spawnSync(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exit(status ?? 128 + (constants.signals[signal] ?? 0));
}
Object.assign(process.env, { PATH: env.PATH, npm_config_nodedir: env.npm_config_nodedir });
// For the runtime test: which node a script ends up on.
if (process.env.PLATFORM_RUNTIME_PROBE) {
  console.log(`runtime ${process.versions.node}`);
  process.exit(0);
}
