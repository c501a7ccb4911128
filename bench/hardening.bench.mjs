// platformd under abuse, against itself idle in the same run: `system info`
// latency (median, p95) on an idle daemon, then while 200 clients that never
// read their answers and a fuzzer (malformed JSON, wrong shapes, prototype
// keys, 1 MB lines, split writes) hammer the same socket, then while a flood
// of tokenless requests of pathological words (15 words of 4,000 "a", "@",
// ":" ...) runs beside 300 idle connections of another uid that reconnect
// when dropped; and the daemon's RSS idle against after the abuse.
// First, the redaction every request goes through before its token is
// checked (net/uri.ts), against one plain pass over the same text.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadModule, median, report, tempDir, time } from './lib.mjs';

// ---------------------------------------------------------------------------
// Redaction before the token check: linear, a few times a plain scan.

const { redactSecrets } = await loadModule('net/uri.ts');
/** The expression the scan replaced (backtracking: quadratic in a word without "@"). */
const backtracking = (text) => text.replace(/([a-z][a-z0-9+.-]*):(\/*)([^]*)@/gi, (whole) => whole).replace(/(--?(?:password|passwd|secret|community|passphrase|token)=)\S*/gi, '$1***');
/** One plain pass over the text, a character at a time (String.indexOf of one character is a memchr, no fair measure of a pass). */
const plainScan = (text) => {
  let found = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x40) found++;
  return found;
};
const SHAPES = { a: 'a', '@': '@', ':': ':', '/': '/', 'a:': 'a:', 'ftp://u:': 'ftp://u:', 'mixed a@:/': 'a@:/' };
const redactionRows = [];
for (const [name, piece] of Object.entries(SHAPES)) {
  const text = piece.repeat(Math.floor(60_000 / piece.length));
  const scan = await time(() => plainScan(text), 21);
  const redact = await time(() => redactSecrets(text, { word: true }), 21);
  redactionRows.push({ name: `redactSecrets, 60 KB of "${name}"`, ms: redact, baselineName: 'one plain pass over it', baselineMs: scan, aim: 'linear' });
}
const word = 'a'.repeat(4000);
redactionRows.push({ name: 'redactSecrets, one 4,000-char word of "a"', ms: await time(() => redactSecrets(word, { word: true }), 21), baselineName: 'the backtracking expression', baselineMs: await time(() => backtracking(word), 3), aim: 'was ~340 ms' });
report('redaction before the token check (median of 21)', redactionRows);

// ---------------------------------------------------------------------------
// The daemon.

/** The group of the socket here: the idle clients run as nobody in it, as a console user would. */
const SOCKET_GROUP = 'nogroup';
const home = tempDir('ps-bench-hardening-');
chmodSync(home, 0o755);
const socketPath = `${home}/run/platformd.sock`;
const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home, '--web-port', '43443', '--http-port', '43080', '--cluster-port', '43444'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, PLATFORM_CONSOLE_GROUP: SOCKET_GROUP },
});
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

/** Tokenless `run`s of 15 pathological words each, from `workers` connections at a time, until `stop()`. */
function pathologicalFlood(workers) {
  let running = true;
  let requests = 0;
  const shapes = Object.values(SHAPES);
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = w; running; i++) {
      const piece = shapes[i % shapes.length];
      const words = Array.from({ length: 15 }, () => piece.repeat(Math.floor(4000 / piece.length)));
      await new Promise((resolve) => {
        const socket = connect(socketPath);
        socket.on('error', resolve);
        socket.on('close', resolve);
        socket.on('data', () => undefined);
        socket.on('connect', () => socket.write(line({ op: 'run', words, caller: { user: 'platform', interactive: false, assumeYes: true } })));
      });
      requests++;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return requests;
    },
  };
}

/** 300 connections as uid nobody that send nothing and reconnect as soon as they are dropped. */
function idleHoarder(count) {
  const program = `
    const path = process.argv[1], count = Number(process.argv[2]);
    let stopping = false;
    const one = () => { if (stopping) return; const s = require('node:net').connect(path); s.on('error', () => undefined); s.on('data', () => undefined); s.on('close', () => setTimeout(one, 5)); };
    for (let i = 0; i < count; i++) one();
    process.on('SIGTERM', () => { stopping = true; process.exit(0); });`;
  const child = spawn('setpriv', ['--reuid=nobody', `--regid=${SOCKET_GROUP}`, '--clear-groups', '--', process.execPath, '-e', program, socketPath, String(count)], { stdio: 'ignore', cwd: '/' });
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
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

  // Before the token check: pathological words from 4 connections at a time, 300 idle connections of another uid, then both.
  const cpuMs = () => {
    const fields = readFileSync(`/proc/${daemon.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
  };
  const preauth = [];
  for (const [name, flooding, hoarding] of [['a flood of pathological tokenless requests', true, false], ['300 idle connections of uid nobody that reconnect', false, true], ['both', true, true]]) {
    const hoarder = hoarding ? idleHoarder(300) : undefined;
    const flood = flooding ? pathologicalFlood(4) : undefined;
    await new Promise((r) => setTimeout(r, 1000));
    const cpuBefore = cpuMs();
    const started = Date.now();
    const samples = await latencies(RUNS / 2);
    const cpuShare = (cpuMs() - cpuBefore) / (Date.now() - started);
    const requests = (await flood?.stop()) ?? 0;
    await hoarder?.stop();
    preauth.push({ name, samples, requests, cpuShare });
    await new Promise((r) => setTimeout(r, 2000));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const rssAfterPreauth = rssMb();
  if (daemon.exitCode !== null) throw new Error(`platformd died under the flood: ${output.slice(-2000)}`);

  report(`platformd under abuse: system info over the socket, ${RUNS} runs each (200 clients that never read and a fuzzer that sent ${fuzzCases} cases, in two rounds)`, [
    { name: 'median, under abuse', ms: median(abused), baselineName: 'median, idle', baselineMs: median(idle), aim: '< 50 ms' },
    { name: 'p95, under abuse', ms: p95(abused), baselineName: 'p95, idle', baselineMs: p95(idle) },
  ]);
  report(`platformd before the token check: system info as root, ${RUNS / 2} runs each (the flood: 15 words of 4,000 pathological characters per request, 4 at a time)`, [
    ...preauth.flatMap(({ name, samples, requests, cpuShare }) => [
      { name: `median, ${name}${requests ? ` (${requests} requests)` : ''}; daemon CPU ${(cpuShare * 100).toFixed(0)}%`, ms: median(samples), baselineName: 'median, idle', baselineMs: median(idle), aim: '<= 50 ms' },
      { name: `p95, ${name}`, ms: p95(samples), baselineName: 'p95, idle', baselineMs: p95(idle) },
    ]),
  ]);
  console.log(`daemon RSS after the flood: ${rssAfterPreauth.toFixed(1)} MB (idle ${rssIdle.toFixed(1)} MB, +${(rssAfterPreauth - rssIdle).toFixed(1)} MB)`);
  const [first, second] = rssAfter;
  console.log(
    `daemon RSS: idle ${rssIdle.toFixed(1)} MB; after a round of abuse ${first.toFixed(1)} MB (+${(first - rssIdle).toFixed(1)} MB, ratio ${(first / rssIdle).toFixed(2)}x; aim: within 20 MB); ` +
      `after a second round ${second.toFixed(1)} MB (${second >= first ? '+' : ''}${(second - first).toFixed(1)} MB more)`,
  );
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
}
