// The product runs on one Node major: the one package.json's "engines" names
// (the project's runtime; on an appliance /usr/local/bin/node is that runtime).
// Native addons are built for it. Started by another node in a checkout that
// holds the runtime (.runtime/node, made by scripts/setup.sh), a program runs
// itself again on it; anywhere else it refuses with a clear message.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
/** A source checkout (what `npm start` runs) rather than an installed product. */
export const inCheckout = existsSync(`${root}scripts/start.mjs`);
const required = /\d+/.exec(JSON.parse(readFileSync(`${root}package.json`, 'utf8')).engines.node)[0];

/** True when this process may go on; otherwise it has handed over (or failed) and must do nothing more. */
export function onProductRuntime(program) {
  if (process.versions.node.split('.')[0] === required) return true;
  const node = `${root}.runtime/node/bin/node`;
  if (!existsSync(node)) {
    process.stderr.write(`${program}: needs Node ${required} (this is ${process.version}, ${process.execPath})\n`);
    process.exitCode = 1;
    return false;
  }
  // Loaded only here: on the product's runtime (every start but this one) they are not needed.
  const require = createRequire(import.meta.url);
  const { spawn } = require('node:child_process');
  const { constants } = require('node:os');
  const env = { ...process.env, PATH: `${root}.runtime/node/bin:${process.env.PATH ?? ''}` };
  const child = spawn(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  const forward = (signal) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) process.on(signal, forward);
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
  });
  return false;
}
