// The compile cache (bin/compile-cache.js) holds code that will run: a
// process uses only a folder of its own user inside a root-owned sticky
// folder, and refuses one another user made or could replace.

import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/daemon.js';

const NOBODY = 65534;
const roots: string[] = [];
afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A checkout-like root (ending in "/", as bin/runtime.js gives it), readable by everyone. */
function fakeRoot(): string {
  const dir = mkdtempSync('/var/tmp/ps-compile-cache-');
  chmodSync(dir, 0o755);
  roots.push(dir);
  return `${dir}/`;
}

/** The folder the cache ended up in (Node adds a folder per version), for a process of `uid` ('' when none). */
function cacheDirAs(root: string, uid: number): string {
  const script = `import { enableCompileCache } from ${JSON.stringify(join(ROOT, 'bin', 'compile-cache.js'))}; import module from 'node:module'; enableCompileCache(${JSON.stringify(root)}, true); process.stdout.write(module.getCompileCacheDir() ?? '');`;
  const env = { ...process.env };
  delete env.NODE_COMPILE_CACHE;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, uid, gid: uid === 0 ? 0 : NOBODY });
}

describe('the compile cache folder', () => {
  it('root makes a sticky shared folder and its own 0700 folder; another user its own beside it', () => {
    const root = fakeRoot();
    const shared = `${root}.cache/compile`;
    expect(cacheDirAs(root, 0).startsWith(`${shared}/0/`)).toBe(true);
    expect(statSync(shared).mode & 0o7777).toBe(0o1777);
    expect(statSync(`${shared}/0`).mode & 0o777).toBe(0o700);
    expect(cacheDirAs(root, NOBODY).startsWith(`${shared}/${NOBODY}/`)).toBe(true);
    expect(statSync(`${shared}/${NOBODY}`).uid).toBe(NOBODY);
  });

  it('root refuses a shared folder another user owns (they could swap its folder)', () => {
    const root = fakeRoot();
    const shared = `${root}.cache/compile`;
    mkdirSync(shared, { recursive: true });
    chownSync(shared, NOBODY, NOBODY);
    chmodSync(shared, 0o1777);
    expect(cacheDirAs(root, 0)).toBe('');
  });

  it("refuses a user's folder that another user made first", () => {
    const root = fakeRoot();
    const shared = `${root}.cache/compile`;
    mkdirSync(`${shared}/0`, { recursive: true });
    chmodSync(shared, 0o1777);
    chownSync(`${shared}/0`, NOBODY, NOBODY);
    expect(cacheDirAs(root, 0)).toBe('');
  });

  it('refuses a folder others may write, and a symbolic link in its place', () => {
    const root = fakeRoot();
    const shared = `${root}.cache/compile`;
    mkdirSync(`${shared}/0`, { recursive: true });
    chmodSync(shared, 0o1777);
    chmodSync(`${shared}/0`, 0o777);
    expect(cacheDirAs(root, 0)).toBe('');
    rmSync(`${shared}/0`, { recursive: true });
    execFileSync('ln', ['-s', '/tmp', `${shared}/0`]);
    expect(cacheDirAs(root, 0)).toBe('');
  });
});
