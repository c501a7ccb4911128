// Node's compile cache: V8 keeps the compiled code of the bundles on disk,
// so the next start skips compiling them (the console over SSH starts in
// about the time of a bare `node`). The cache is code that will run, so a
// process only uses a folder that it alone (or root) can write: one folder
// per user, made by that user, inside a sticky folder that nobody can empty
// of another user's folder (as /tmp). On an appliance it lives under
// /var/cache/platform-shell, in a checkout under its .cache; anything amiss
// and the program just starts without it.

import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';

/** The shared folder: anyone may make their own folder in it, nobody may remove another's (as /tmp). */
const SHARED_MODE = 0o1777;

/** Turns the cache on for this process when its folder is safe; never fails the program. */
export function enableCompileCache(root, inCheckout) {
  if (typeof module.enableCompileCache !== 'function' || process.env.NODE_COMPILE_CACHE !== undefined) return;
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const shared = inCheckout ? `${root}.cache/compile` : '/var/cache/platform-shell/compile';
  try {
    try {
      mkdirSync(shared, { recursive: true, mode: 0o755 });
    } catch {
      // Made by root (or whoever may), or no cache.
    }
    let stat = lstatSync(shared);
    if (stat.uid === uid && (stat.mode & 0o7777) !== SHARED_MODE) {
      chmodSync(shared, SHARED_MODE);
      stat = lstatSync(shared);
    }
    // Root's, or (for anyone but root) one's own: its owner could remove the folders in it.
    if (!stat.isDirectory() || (stat.uid !== 0 && stat.uid !== uid) || (stat.mode & 0o7777) !== SHARED_MODE) return;
    const own = `${shared}/${uid}`;
    try {
      mkdirSync(own, { mode: 0o700 });
    } catch (error) {
      if (error.code !== 'EEXIST') return;
    }
    const mine = lstatSync(own);
    if (!mine.isDirectory() || mine.uid !== uid || (mine.mode & 0o077) !== 0) return;
    module.enableCompileCache(own);
  } catch {
    // No cache: a slower start, nothing else.
  }
}

/** Writes what was compiled so far (a console may end by a hang-up, which skips the write at exit). */
export function flushCompileCache() {
  module.flushCompileCache?.();
}
