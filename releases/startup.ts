// What platformd does about releases when it starts: check its own release
// against the signed manifest (verified on load), and record what the last
// upgrade's runner did (audit and event) once the store is open.

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyInstalled } from './install.js';
import { trustedKeys } from './keys.js';
import { linkedVersion, runningRelease, switchLink, writeJsonAtomic } from './layout.js';
import { ReleaseRefused } from './manifest.js';
import { readAttempt, writeAttempt } from './marker.js';
import type { Store } from '../store/db.js';
import { eventOf, type NodeEvent } from '../events/catalog.js';

export type StartCheck = { ok: true; detail: string } | { ok: false; message: string };

/**
 * Checks the running release (none in a development checkout: nothing to
 * check). A release that fails does not run: `current` goes back to the
 * previous release when that one passes, the failure is kept for the banner,
 * and platformd stops so that its supervisor starts the previous one.
 */
export async function checkOwnRelease(): Promise<StartCheck> {
  const running = runningRelease();
  if (!running) return { ok: true, detail: 'a development checkout: no release manifest, nothing checked' };
  const { product, version } = running;
  const started = process.hrtime.bigint();
  const keys = trustedKeys(product);
  try {
    const { manifest, hashed } = await verifyInstalled(product, version, keys);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ok: true, detail: `release ${version} matches its signed manifest (${manifest.files.length} files, ${hashed} hashed, ${ms.toFixed(0)} ms)` };
  } catch (error) {
    if (!(error instanceof ReleaseRefused)) throw error;
    const previous = linkedVersion(product.previous);
    let fallback: string | undefined;
    if (previous && previous !== version && linkedVersion(product.current) === version) {
      try {
        await verifyInstalled(product, previous, keys);
        fallback = previous;
      } catch {
        // the previous release fails too: nothing verified to fall back to
      }
    }
    const text = `${version}: ${error.message}${fallback ? `; running ${fallback}` : ''}`;
    writeJsonAtomic(product.verificationFailed, { release: version, reason: error.message, fellBackTo: fallback ?? null, at: new Date().toISOString(), text });
    if (fallback) {
      switchLink(product, product.current, fallback);
      switchLink(product, product.previous, undefined);
      return { ok: false, message: `RELEASE VERIFICATION FAILED: ${error.message}. current now names ${fallback}, the previous release: platformd starts again on it (systemd restarts it; by hand, start platformd again)` };
    }
    return { ok: false, message: `RELEASE VERIFICATION FAILED: ${error.message}. There is no previous verified release to fall back to: install a good release (platform-release install)` };
  }
}

/**
 * Records the runner's last result once (platformd at start, and `system
 * upgrade status`, which the runner asks when it is done): an audit entry
 * saying why, and an event when the node went back.
 */
export function reportLastAttempt(store: Store, raise: ((event: NodeEvent) => void) | undefined, log: (level: 'info' | 'error', message: string) => void): void {
  const running = runningRelease();
  if (!running) return;
  const attempt = readAttempt(running.product);
  if (!attempt || attempt.reported) return;
  const ok = attempt.result === (attempt.kind === 'upgrade' ? 'upgraded' : 'rolled-back');
  const what = `${attempt.kind} ${attempt.from} -> ${attempt.to}: ${attempt.result} in ${attempt.seconds} s${attempt.reason ? `: ${attempt.reason}` : ''}`;
  store.audit.record({ user: 'root', origin: 'local', address: null, words: `system ${attempt.kind} (runner)`, outcome: ok ? 'ok' : 'failed', exit_status: ok ? 0 : 1, message: what });
  if (!ok) raise?.(eventOf('release-rolled-back', `RELEASE ROLLED BACK: ${what}`));
  log(ok ? 'info' : 'error', what);
  writeAttempt(running.product, { ...attempt, reported: true });
  // A good release is in service again: the banner's verification failure ends with it.
  if (attempt.result === 'upgraded') rmSync(running.product.verificationFailed, { force: true });
}

/** run/ready.json: what the upgrade's health gate reads in a process (under systemd, READY=1 says the same). */
export function writeReady(run: string, firewall: string): void {
  writeFileSync(join(run, 'ready.json'), JSON.stringify({ pid: process.pid, firewall, at: new Date().toISOString() }) + '\n', { mode: 0o644 });
}
