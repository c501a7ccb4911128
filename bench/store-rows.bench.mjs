// What checking the store's rows costs (issue 21). The banner checks the
// store's schema and every configuration row each time it is drawn (a node
// in its recovery state says so), and every setting is checked as it is
// read: `health` on a node with 2,000 users, their rights and 500 web
// weights, against `health` on a fresh node, in the same run.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { report, tempDir, time } from './lib.mjs';

const Database = createRequire(import.meta.url)('better-sqlite3');
const port = 44000 + (process.pid % 1000);

async function withDaemon(home, offset, fn) {
  const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home, '--web-port', String(port + offset), '--http-port', String(port + offset + 1), '--cluster-port', String(port + offset + 2)], { stdio: 'ignore' });
  try {
    while (!existsSync(join(home, 'run', 'platformd.sock'))) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    return await fn();
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
}

// `health` exits 1 when it warns (a loaded machine): only a failure to answer counts.
const health = (home) => () => {
  const r = spawnSync(process.execPath, ['bin/platform.js', '--home', home, 'health'], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`health: ${r.stderr}`);
};

const fresh = tempDir('ps-rowsbench-fresh-');
const large = tempDir('ps-rowsbench-large-');
// Both nodes made by a first start (keys, certificates), then rows added to one while its daemon is stopped.
await withDaemon(fresh, 0, async () => undefined);
await withDaemon(large, 10, async () => undefined);
const db = new Database(join(large, 'config.db'));
db.transaction(() => {
  const user = db.prepare('INSERT INTO users (name, must_change, created_at) VALUES (?, 0, ?)');
  const right = db.prepare('INSERT INTO user_rights (user, prefix) VALUES (?, ?)');
  const weight = db.prepare('INSERT INTO web_weights (server, weight) VALUES (?, ?)');
  for (let i = 0; i < 2000; i++) {
    user.run(`user${i}`, '2026-01-01T00:00:00.000Z');
    right.run(`user${i}`, 'app');
  }
  for (let i = 0; i < 500; i++) weight.run(`app${i}.example.test:8443`, i % 100);
})();
db.close();

const freshMs = await withDaemon(fresh, 0, () => time(health(fresh)));
const largeMs = await withDaemon(large, 10, () => time(health(large)));
report('store rows checked (median)', [{ name: 'health, 2,000 users and rights, 500 weights', ms: largeMs, baselineName: 'health, fresh node', baselineMs: freshMs, aim: '<= 1.5x' }]);
