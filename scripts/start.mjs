// The embedded default: a whole node on this machine, data under ./.platform.
// Starts platformd (firewall in plan mode: the host's own firewall is never
// touched), configures the node on first start, and opens the console;
// leaving the console stops the daemon.

import './runtime.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The checkout's .platform: where `platform` and `platformd` run from this checkout look without --home (core/paths.ts).
const home = resolve(process.env.PLATFORM_HOME ?? fileURLToPath(new URL('../.platform', import.meta.url)));
mkdirSync(`${home}/logs`, { recursive: true });
const log = openSync(`${home}/logs/platformd.out`, 'a');
const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home], { stdio: ['ignore', log, log] });
const platform = (...words) => spawnSync(process.execPath, ['bin/platform.js', '--home', home, ...words], { stdio: 'inherit' });

const socket = `${home}/run/platformd.sock`;
for (let i = 0; i < 100 && !existsSync(socket); i++) {
  if (daemon.exitCode !== null) break;
  await new Promise((r) => setTimeout(r, 100));
}
if (!existsSync(socket)) {
  console.error(`platformd did not start; see ${home}/logs/platformd.out`);
  daemon.kill('SIGTERM');
  process.exit(1);
}
const info = spawnSync(process.execPath, ['bin/platform.js', '--home', home, '--json', 'system', 'info'], { encoding: 'utf8' });
if (!JSON.parse(info.stdout || '{}').configured) {
  platform('system', 'setup', '--hostname', hostname().split('.')[0].toLowerCase(), '--role', 'unified,webproxy', '--data-centre', 'local');
}

const stop = () => daemon.kill('SIGTERM');
if (process.stdin.isTTY && process.stdout.isTTY) {
  platform();
  stop();
} else {
  console.log(`platformd is running on ${home} (pid ${daemon.pid}); no terminal here, so no console.`);
  console.log(`Run commands with: node bin/platform.js --home ${home} <command>; Ctrl-C stops the daemon.`);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
