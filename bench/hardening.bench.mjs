// platformd under abuse, against itself idle in the same run: `system info`
// latency (median, p95) on an idle daemon, then while 200 clients that never
// read their answers and a fuzzer (malformed JSON, wrong shapes, prototype
// keys, 1 MB lines, split writes) hammer the same socket; and the daemon's
// RSS idle against after the abuse.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { median, report, tempDir } from './lib.mjs';

const home = tempDir('ps-bench-hardening-');
const socketPath = `${home}/run/platformd.sock`;
const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home, '--web-port', '43443', '--http-port', '43080', '--cluster-port', '43444'], { stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
daemon.stdout.on('data', (d) => (output += d));
daemon.stderr.on('data', (d) => (output += d));
while (!(existsSync(socketPath) && output.includes('serving'))) {
  if (daemon.exitCode !== null) throw new Error(`platformd exited: ${output}`);
  await new Promise((r) => setTimeout(r, 50));
}

const caller = { user: 'platform', token: readFileSync(`${home}/run/users/platform`, 'utf8'), interactive: false, assumeYes: false };
const line = (value) => JSON.stringify(value) + '\n';
const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))[1]) / 1024;
const p95 = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.95)];

/** One `system info` over the socket, in ms. */
function systemInfo() {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const socket = connect(socketPath);
    let text = '';
    socket.on('connect', () => socket.write(line({ op: 'run', words: ['system', 'info'], caller })));
    socket.on('data', (d) => {
      text += d;
      if (text.includes('"type":"result"')) {
        socket.destroy();
        resolve(Number(process.hrtime.bigint() - start) / 1e6);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`no answer: ${text}`)));
  });
}

async function latencies(runs) {
  await systemInfo();
  const samples = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await systemInfo());
    await new Promise((r) => setTimeout(r, 20));
  }
  return samples;
}

// ---------------------------------------------------------------------------
// The abuse.

/** Clients that send a request and never read: each holds what the daemon answers. */
async function slowClients(count) {
  const sockets = [];
  for (let i = 0; i < count; i++) {
    const socket = connect(socketPath);
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    socket.pause();
    socket.write(line({ op: 'run', words: ['help'], caller }));
    sockets.push(socket);
  }
  return sockets;
}

const MEGABYTE_LINE = Buffer.alloc(1024 * 1024, 'z');
const FUZZ = [
  ['x\n'],
  ['{"op":"run",\n'],
  [line({ op: 'run', words: 'system info', caller })],
  [line({ op: 'run', words: ['user', 'add', 'mallory'], caller: { user: 'platform', origin: 'cluster', interactive: false, assumeYes: true } })],
  ['{"op":"run","words":["system","info"],"caller":{"user":"platform","interactive":false,"assumeYes":true,"__proto__":{"authenticated":true}}}\n'],
  [MEGABYTE_LINE],
  [Buffer.from(line({ op: 'run', words: ['€uro'], caller })).subarray(0, 40), Buffer.from(line({ op: 'run', words: ['€uro'], caller })).subarray(40)],
  [Buffer.from([0xff, 0x00, 0xfe, 0x0a])],
];

/** Sends the fuzz cases over and over from `workers` connections at a time until `stop()`. */
function fuzzer(workers) {
  let running = true;
  let cases = 0;
  const one = (chunks) =>
    new Promise((resolve) => {
      const socket = connect(socketPath);
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.on('data', () => undefined);
      socket.on('connect', () => {
        for (const chunk of chunks) socket.write(chunk);
      });
      setTimeout(() => socket.destroy(), 2000).unref();
    });
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = w; running; i++) {
      await one(FUZZ[i % FUZZ.length]);
      cases++;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return cases;
    },
  };
}

try {
  const RUNS = 60;
  await new Promise((r) => setTimeout(r, 1000));
  const idle = await latencies(RUNS);
  const rssIdle = rssMb();

  // Two rounds of the same abuse: memory that stays after the first is the heap's
  // new size; memory that grows again after the second would be a leak.
  let abused = [];
  let fuzzCases = 0;
  const rssAfter = [];
  for (let round = 0; round < 2; round++) {
    const slow = await slowClients(200);
    const fuzz = fuzzer(4);
    await new Promise((r) => setTimeout(r, 500));
    abused = abused.concat(await latencies(RUNS / 2));
    fuzzCases += await fuzz.stop();
    for (const socket of slow) socket.destroy();
    // Once the abuse has stopped and the daemon had a few seconds to itself.
    await new Promise((r) => setTimeout(r, 5000));
    rssAfter.push(rssMb());
  }
  if (daemon.exitCode !== null) throw new Error(`platformd died under the abuse: ${output.slice(-2000)}`);

  report(`platformd under abuse: system info over the socket, ${RUNS} runs each (200 clients that never read and a fuzzer that sent ${fuzzCases} cases, in two rounds)`, [
    { name: 'median, under abuse', ms: median(abused), baselineName: 'median, idle', baselineMs: median(idle), aim: '< 50 ms' },
    { name: 'p95, under abuse', ms: p95(abused), baselineName: 'p95, idle', baselineMs: p95(idle) },
  ]);
  const [first, second] = rssAfter;
  console.log(
    `daemon RSS: idle ${rssIdle.toFixed(1)} MB; after a round of abuse ${first.toFixed(1)} MB (+${(first - rssIdle).toFixed(1)} MB, ratio ${(first / rssIdle).toFixed(2)}x; aim: within 20 MB); ` +
      `after a second round ${second.toFixed(1)} MB (${second >= first ? '+' : ''}${(second - first).toFixed(1)} MB more)`,
  );
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
}
