// Shared helpers of the benchmarks: timing with medians, and one table per
// benchmark with the ratio to its baseline, measured in the same run.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Median wall time in ms of `fn` over `runs` runs (after one warm-up). */
export async function time(fn, runs = 11) {
  await fn();
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

/** Median wall time of a command line. */
export function timeCommand(cmd, args, runs = 11, options = {}) {
  return time(() => {
    const r = spawnSync(cmd, args, { stdio: 'ignore', ...options });
    if (r.status !== 0 && !options.allowFailure) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }, runs);
}

/** Prints rows of { name, ms, baselineName, baselineMs, aim? } with ratios. */
export function report(title, rows) {
  console.log(title);
  const lines = rows.map((r) => [
    r.name,
    `${r.ms.toFixed(1)} ms`,
    r.baselineName ?? '',
    r.baselineMs !== undefined ? `${r.baselineMs.toFixed(1)} ms` : '',
    r.baselineMs ? `${(r.ms / r.baselineMs).toFixed(2)}x` : '',
    r.aim ?? '',
  ]);
  const header = ['measure', 'time', 'baseline', 'baseline time', 'ratio', 'aim'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(fmt(header));
  console.log(fmt(widths.map((w) => '-'.repeat(w))));
  for (const l of lines) console.log(fmt(l));
}

/** Temporary folders, removed when the benchmark's process ends. */
const made = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
export const tempDir = (prefix) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};

/** Bundles one of the product's TypeScript modules for a benchmark to import (no TypeScript loader needed). */
export async function loadModule(entry) {
  const { build } = await import('esbuild');
  const outfile = join(tempDir('ps-bench-module-'), 'module.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'error',
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  return import(outfile);
}

/**
 * A platformd of the benchmark's own: a fresh home, its web, http and cluster
 * ports from `basePort`, ready once its socket answers. `platform(...words)`
 * runs the console one-shot with --yes and throws on a non-zero exit;
 * `stop()` ends the daemon by its PID and removes the home. `root` is the
 * checkout whose build runs (another one's, to compare with it).
 */
export async function startNode(prefix, basePort, root = '.') {
  const home = tempDir(prefix);
  const daemon = spawn(process.execPath, [join(root, 'bin/platformd.js'), '--home', home, '--web-port', String(basePort), '--http-port', String(basePort + 1), '--cluster-port', String(basePort + 2)], { stdio: 'ignore' });
  while (!existsSync(join(home, 'run', 'platformd.sock'))) {
    if (daemon.exitCode !== null) throw new Error(`platformd exited ${daemon.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
  const platform = (...words) => {
    const r = spawnSync(process.execPath, [join(root, 'bin/platform.js'), '--home', home, '--yes', ...words], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const stop = async () => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise((r) => daemon.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  };
  return { home, platform, stop };
}
