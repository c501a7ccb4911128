// Startup of the console against plain `node -e 0`, in the same run:
// one-shot `platform --json system info`, console start to banner, console
// start to first prompt; and a command in the interactive console, from
// Enter to the last line of its reply, against the same command one-shot.
// The compile cache (bin/compile-cache.js) is warm after the first run.

import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import pty from 'node-pty';
import { median, report, tempDir, timeCommand } from './lib.mjs';

const home = tempDir('ps-bench-console-');
const daemon = spawn(process.execPath, ['bin/platformd.js', '--home', home, '--web-port', '42443', '--http-port', '42080', '--cluster-port', '42444'], { stdio: 'ignore' });
while (!existsSync(`${home}/run/platformd.sock`)) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 300));
spawn(process.execPath, ['bin/platform.js', '--home', home, 'system', 'setup', '--hostname', 'bench01', '--role', 'unified'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));

const env = { ...process.env };
delete env.CI;

/** ms from spawning the console in a pty until `text` appears. */
function consoleUntil(text) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const term = pty.spawn(process.execPath, ['bin/platform.js', '--home', home], { cols: 100, rows: 30, env });
    let out = '';
    const timer = setTimeout(() => {
      term.kill();
      reject(new Error(`no "${text}" in 10 s`));
    }, 10_000);
    term.onData((d) => {
      out += d;
      if (out.includes(text)) {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        clearTimeout(timer);
        term.kill();
        resolve(ms);
      }
    });
  });
}

/** ms from Enter to the reply's last line (`kernel:`, then the next prompt), in one console kept open. */
async function consoleCommandTimes(words, lastLine, runs = 11) {
  const term = pty.spawn(process.execPath, ['bin/platform.js', '--home', home], { cols: 100, rows: 30, env });
  let out = '';
  const waiters = new Set();
  term.onData((d) => {
    out += d;
    for (const w of waiters) w();
  });
  const waitFor = (text, from) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${text}" in 10 s`)), 10_000);
      const check = () => {
        if (out.indexOf(text, from) >= 0) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
    });
  try {
    await waitFor(':~$', 0);
    const samples = [];
    for (let i = 0; i <= runs; i++) {
      const from = out.length;
      const start = process.hrtime.bigint();
      term.write(`${words}\r`);
      await waitFor(lastLine, from);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      await waitFor(':~$', out.lastIndexOf(lastLine));
      if (i > 0) samples.push(ms); // the first waits for the command tree, loaded after the prompt
    }
    return median(samples);
  } finally {
    term.kill();
  }
}

async function medianOf(fn, runs = 9) {
  await fn();
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await fn());
  return median(samples);
}

try {
  const baseline = await timeCommand(process.execPath, ['-e', '0']);
  const oneShot = await timeCommand(process.execPath, ['bin/platform.js', '--home', home, '--json', 'system', 'info']);
  const banner = await medianOf(() => consoleUntil('host: bench01'));
  const prompt = await medianOf(() => consoleUntil(':~$'));
  const plainOneShot = await timeCommand(process.execPath, ['bin/platform.js', '--home', home, 'system', 'info']);
  const inConsole = await consoleCommandTimes('system info', 'kernel:');
  report('console start-up (median of 9-11 runs)', [
    { name: 'one-shot platform --json system info', ms: oneShot, baselineName: 'node -e 0', baselineMs: baseline, aim: '<= 1.3x' },
    { name: 'console start to banner (pty)', ms: banner, baselineName: 'node -e 0', baselineMs: baseline, aim: '<= 1.3x' },
    { name: 'console start to first prompt (pty)', ms: prompt, baselineName: 'node -e 0', baselineMs: baseline, aim: '<= 2.5x' },
    { name: 'system info in the console: Enter to its last line', ms: inConsole, baselineName: 'one-shot platform system info', baselineMs: plainOneShot, aim: '< 1x' },
  ]);
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  rmSync(home, { recursive: true, force: true });
}
