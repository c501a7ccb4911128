// Shared helpers of the benchmarks: timing with medians, and one table per
// benchmark with the ratio to its baseline, measured in the same run.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
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

/**
 * Bundles one of the product's TypeScript modules for a benchmark to import (no TypeScript loader needed).
 * `external`: packages left out, for modules that import them only on paths the benchmark does not take (ssh2's native parts).
 */
export async function loadModule(entry, { external = [] } = {}) {
  const { build } = await import('esbuild');
  const outfile = join(tempDir('ps-bench-module-'), 'module.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'error',
    external,
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

const ip = (...args) => execFileSync('ip', args, { stdio: 'ignore' });

/**
 * `roles.length` platformd nodes, each in a network namespace of its own on
 * one bridge (addresses `${net}.1` ...), set up with their role; node 0 is
 * the primary and has added every other. `platform(node, ...words)` runs the
 * console one-shot with --yes against a node and throws on a non-zero exit;
 * `attach(name, addresses)` adds another namespace on the bridge (an
 * outsider); `teardown()` stops the daemons and deletes the namespaces.
 */
export async function clusterOnBridge({ prefix, net, roles, firewall = 'apply' }) {
  const hub = `${prefix}h`;
  const nodes = [];
  const outsiders = [];
  const teardown = async () => {
    for (const n of nodes) {
      n.daemon?.kill('SIGTERM');
      if (n.daemon && n.daemon.exitCode === null) await new Promise((r) => n.daemon.once('exit', r));
      spawnSync('ip', ['netns', 'del', n.ns], { stdio: 'ignore' });
      rmSync(n.home, { recursive: true, force: true });
    }
    for (const ns of outsiders) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', hub], { stdio: 'ignore' });
  };
  let links = 0;
  const plug = (ns, addresses) => {
    const link = `v${links++}`;
    ip('netns', 'add', ns);
    ip('-n', hub, 'link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', hub, 'link', 'set', link, 'master', 'br0');
    ip('-n', hub, 'link', 'set', link, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    for (const address of addresses) ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  };
  const platform = (node, ...words) => {
    const r = spawnSync(process.execPath, ['bin/platform.js', '--home', node.home, '--yes', ...words], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${words.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    ip('netns', 'add', hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    roles.forEach((role, i) => {
      const ns = `${prefix}n${i}`;
      const address = `${net}.${i + 1}`;
      plug(ns, [address]);
      const home = tempDir('ps-clbench-');
      const daemon = spawn('ip', ['netns', 'exec', ns, process.execPath, 'bin/platformd.js', '--home', home, '--firewall', firewall, '--web-port', '443', '--http-port', '80', '--cluster-port', '8443'], { stdio: 'ignore' });
      nodes.push({ ns, address, home, daemon, role });
    });
    for (const n of nodes) while (!existsSync(join(n.home, 'run', 'platformd.sock'))) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    nodes.forEach((n, i) => platform(n, 'system', 'setup', '--hostname', `n${i}`, '--role', n.role, '--ip', n.address));
    const primary = nodes[0];
    for (const n of nodes.slice(1)) {
      const { code } = JSON.parse(platform(n, '--json', 'cluster', 'prepnode'));
      platform(primary, 'cluster', 'add', n.address, code);
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  const attach = (name, addresses) => {
    const ns = `${prefix}${name}`;
    outsiders.push(ns);
    plug(ns, addresses);
    return ns;
  };
  return { nodes, platform, attach, teardown };
}
