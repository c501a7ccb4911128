// How long SIGTERM takes to end platformd (the signal sent, to the process
// gone), median and worst over several daemons:
//   idle: a node serving, nothing running;
//   busy: a scheduled `log follow` running (a job that never ends by
//     itself), a console client following a log, and an SNMP inform
//     waiting for a manager that never answers (the old daemon waited up
//     to 6 s for it: the first figure of issue 22);
// against a plain node process serving a unix socket that closes its server
// and exits on SIGTERM, measured the same way in the same run. The design's
// aim is "within seconds whatever runs"; the daemon gives up waiting at 4.5 s.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { median, report, tempDir } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS) || 7;
const basePort = 45000 + (process.pid % 1000) * 4;
const env = { ...process.env };
delete env.CI;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`benchmark: timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** SIGTERM to exit, in ms. */
async function sigterm(child) {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const start = process.hrtime.bigint();
  child.kill('SIGTERM');
  await exited;
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The baseline: node, a unix socket server, and `server.close(); process.exit()` on SIGTERM. */
async function baselineOnce() {
  const dir = mkdtempSync(join(tmpdir(), 'ps-stopbench-base-'));
  const socket = join(dir, 's.sock');
  const script = join(dir, 'server.mjs');
  writeFileSync(script, `import { createServer } from 'node:net';\nconst server = createServer((c) => c.end());\nserver.listen(${JSON.stringify(socket)}, () => console.log('ready'));\nprocess.on('SIGTERM', () => { server.close(); process.exit(0); });\n`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await until(() => out.includes('ready'), 'the baseline server');
  const ms = await sigterm(child);
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

// Each kind on its own node: what the busy one queues (informs) never reaches the idle one.
const homes = { idle: tempDir('ps-stopbench-idle-'), busy: tempDir('ps-stopbench-busy-') };
let jobs = 0;

/** A scheduled job due at once (created two hours ago, hourly), as a restored store could hold it. */
function addFollowJob(home) {
  const db = new Database(join(home, 'config.db'));
  db.prepare("INSERT INTO schedule_jobs (name, owner, words, timing, enabled, created_at) VALUES (?, 'root', ?, ?, 1, ?)").run(
    `follow-${++jobs}`,
    JSON.stringify(['log', 'follow', 'platform/platformd.log']),
    JSON.stringify({ kind: 'hours', every: 1 }),
    new Date(Date.now() - 2 * 3600_000).toISOString(),
  );
  db.close();
}

async function startDaemon(home) {
  const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home, '--web-port', String(basePort), '--http-port', String(basePort + 1), '--cluster-port', String(basePort + 2)], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  daemon.stdout.on('data', (d) => (out += d));
  daemon.stderr.on('data', (d) => (out += d));
  await until(() => existsSync(join(home, 'run', 'platformd.sock')) && out.includes(' serving '), 'platformd to serve');
  await sleep(500); // settled: the first schedule pass and the readiness step are done
  return { daemon, output: () => out };
}

/** The console, one-shot; throws on a non-zero exit. */
function platform(home, ...words) {
  const r = spawnSync(process.execPath, ['bin/platform.js', '--home', home, ...words], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`platform ${words.join(' ')}: ${r.stderr}`);
}

let informTarget = false;
async function platformdOnce(busy) {
  const home = busy ? homes.busy : homes.idle;
  if (busy) addFollowJob(home);
  const { daemon, output } = await startDaemon(home);
  let client;
  if (busy) {
    // Nothing listens on that port: each inform waits for its acknowledgement.
    if (!informTarget) platform(home, 'notify', 'add', 'error', `snmp://public@127.0.0.1:${basePort + 3}`);
    informTarget = true;
    platform(home, 'notify', 'test', 'error');
    client = spawn(process.execPath, ['bin/platform.js', '--home', home, 'log', 'follow', 'platform/platformd.log'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let seen = '';
    client.stdout.on('data', (d) => (seen += d));
    client.stderr.on('data', (d) => (seen += d));
    const log = join(home, 'logs', 'platformd.log');
    await until(() => (writeFileSync(log, 'bench marker\n', { flag: 'a' }), seen.includes('bench marker')), `the follow client (${seen.slice(0, 300)})`);
  }
  const ms = await sigterm(daemon);
  const steps = /stopped in \d+ ms \((.*)\)/.exec(output())?.[1] ?? 'no stop line';
  if (client && client.exitCode === null) await new Promise((r) => client.once('exit', r));
  return { ms, steps };
}

// Each store is made once (first start), so that every measured start is a restart.
for (const home of Object.values(homes)) await sigterm((await startDaemon(home)).daemon);

const samples = { baseline: [], idle: [], busy: [] };
const slowest = { idle: { ms: 0, steps: '' }, busy: { ms: 0, steps: '' } };
for (let i = 0; i < RUNS; i++) {
  samples.baseline.push(await baselineOnce());
  for (const kind of ['idle', 'busy']) {
    const run = await platformdOnce(kind === 'busy');
    samples[kind].push(run.ms);
    if (run.ms > slowest[kind].ms) slowest[kind] = run;
  }
}

const worst = (values) => Math.max(...values);
const baselineMedian = median(samples.baseline);
const baselineWorst = worst(samples.baseline);
report(`SIGTERM to exit, ${RUNS} runs each`, [
  { name: 'platformd idle, median', ms: median(samples.idle), baselineName: 'node unix-socket server', baselineMs: baselineMedian, aim: '< 5000 ms' },
  { name: 'platformd idle, worst', ms: worst(samples.idle), baselineName: 'node unix-socket server', baselineMs: baselineWorst, aim: '< 5000 ms' },
  { name: 'platformd busy, median', ms: median(samples.busy), baselineName: 'node unix-socket server', baselineMs: baselineMedian, aim: '< 5000 ms' },
  { name: 'platformd busy, worst', ms: worst(samples.busy), baselineName: 'node unix-socket server', baselineMs: baselineWorst, aim: '< 5000 ms' },
]);
console.log(`slowest idle stop, by step: ${slowest.idle.steps}`);
console.log(`slowest busy stop, by step: ${slowest.busy.steps}`);
for (const home of Object.values(homes)) {
  if (readFileSync(join(home, 'logs', 'platformd.log'), 'utf8').includes('did not stop within')) console.log(`WARNING: a stop went past a deadline; see ${home}/logs/platformd.log`);
}
