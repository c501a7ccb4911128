// One Node LTS line everywhere: the runtime in .node-version (installed by
// scripts/setup.sh into .runtime/node) runs the tests, the bins, the daemon,
// and the native addons are built for it. Fails if anything in the product
// path runs on another major.

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM, PLATFORMD, ROOT, startDaemon, tempHome } from '../support/daemon.js';

const wanted = readFileSync(join(ROOT, '.node-version'), 'utf8').trim();
const major = wanted.split('.')[0]!;
/** The machine's own node (Node 20 here), when it is another major than the project's. */
const machineNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p) && execFileSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).split('.')[0] !== major);

describe('the runtime', () => {
  it('is the one in .node-version, named by engines, and runs the tests', () => {
    expect(process.versions.node).toBe(wanted);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toMatch(new RegExp(`^>=${wanted.replace(/\./g, '\\.')} <${Number(major) + 1}$`));
    expect(process.execPath).toBe(join(ROOT, '.runtime', 'node', 'bin', 'node'));
  });

  it('is the one the native addons were built for, and they load', async () => {
    expect(readFileSync(join(ROOT, 'node_modules', '.runtime-version'), 'utf8').trim()).toBe(wanted);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(':memory:');
    expect((db.prepare('SELECT 1 AS one').get() as { one: number }).one).toBe(1);
    db.close();
    const pty = await import('node-pty');
    const term = pty.spawn('/bin/echo', ['pty ok'], {});
    const out = await new Promise<string>((resolve) => {
      let text = '';
      term.onData((d) => (text += d));
      term.onExit(() => resolve(text));
    });
    expect(out).toContain('pty ok');
  });

  it('runs the bins and the daemon, even when another node starts them', async () => {
    for (const bin of [PLATFORM, PLATFORMD]) {
      const own = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
      expect(own.stdout).toContain(`(Node ${wanted})`);
      if (machineNode) {
        const other = spawnSync(machineNode, [bin, '--version'], { encoding: 'utf8' });
        expect(other.status).toBe(0);
        expect(other.stdout).toContain(`(Node ${wanted})`);
      }
    }
    const node = await startDaemon();
    try {
      const info = await node.platform(['--json', 'system', 'info']);
      expect(JSON.parse(info.stdout).versions.node).toBe(wanted);
      if (machineNode) {
        // The daemon under the machine's node would report that node's version.
        const home = tempHome();
        const daemon = spawnSync(machineNode, [PLATFORMD, '--version'], { encoding: 'utf8', env: { ...process.env, PLATFORM_HOME: home } });
        expect(daemon.stdout).toContain(`(Node ${wanted})`);
      }
    } finally {
      await node.stop();
    }
  });

  it('refuses another major where the project runtime is not beside the product', () => {
    if (!machineNode) return; // every node on this machine is the project's major
    const dir = tempHome('ps-product-');
    mkdirSync(join(dir, 'bin'));
    for (const f of ['platform.js', 'platformd.js', 'runtime.js', 'compile-cache.js']) cpSync(join(ROOT, 'bin', f), join(dir, 'bin', f));
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const result = spawnSync(machineNode, [join(dir, 'bin', 'platform.js'), '--version'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`platform: needs Node ${major}`);
  });

  it('is what the scripts re-run themselves on when started by another node', () => {
    if (!machineNode) return;
    const probe = spawnSync(machineNode, [join(ROOT, 'scripts', 'test.mjs')], { encoding: 'utf8', env: { ...process.env, PLATFORM_RUNTIME_PROBE: '1' } });
    expect(probe.stdout.trim()).toBe(`runtime ${wanted}`);
  });

  it('is what the systemd unit starts: the runtime the release carries', () => {
    const unit = readFileSync(join(ROOT, 'packer', 'systemd', 'platformd.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/opt\/platform-shell\/current\/\.runtime\/node\/bin\/node \/opt\/platform-shell\/current\/bin\/platformd\.js /m);
    // A release (scripts/release.mjs) carries the node binary that runs this build at that path.
    expect(readFileSync(join(ROOT, 'scripts', 'release.mjs'), 'utf8')).toContain("{ path: '.runtime/node/bin/node', mode: 0o755, from: process.execPath }");
  });
});
