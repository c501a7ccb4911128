// `security check` and `security update`: the pending updates of the
// configured source, and installing them. One run at a time per daemon
// (apt has its own locks; this says so plainly instead of waiting on them).
// The result of every check is kept (`security.lastCheck`) for the banner.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, failure } from '../core/errors.js';
import { egressOf, proxyAddress, proxyFor } from '../net/connector.js';
import { parseUri, type NetworkUri } from '../net/uri.js';
import { osRoot } from '../os/host.js';
import type { Store } from '../store/db.js';
import type { PendingUpdate, UpdateCheck, UpdateSource } from '../store/settings.js';
import { APT_LIMITS, aptGet, aptUpgrade, completeInterrupted, aptProxy, aptStateDir, installedVersions, parseSimulatedUpgrade, removeAptConf, writeAptFiles, type AptPlace } from './apt.js';
import { sourceOf } from './source.js';

export interface UpdateRun {
  store: Store;
  home: string;
  signal?: AbortSignal;
  progress?: (text: string) => void;
}

let running: string | undefined;

/** Runs one check or update at a time. */
async function alone<T>(what: string, work: () => Promise<T>): Promise<T> {
  if (running) throw failure('updates-busy', `a security ${running} is running; try again when it has finished`);
  running = what;
  try {
    return await work();
  } finally {
    running = undefined;
  }
}

export const placeOf = (home: string): AptPlace => ({ root: osRoot(), state: aptStateDir(home) });

function configuredSource(store: Store): UpdateSource {
  const source = sourceOf(store);
  if (!source) throw badInput('no-source', 'no update source is set', ['set one with "security source <uri> [suite <suite>] [components <list>] key <file in media>"']);
  return source;
}

/** The proxy apt goes through to reach the source, or undefined (file://, no proxy, or the host bypasses it). */
function proxyForSource(store: Store, source: UpdateSource): NetworkUri | undefined {
  const uri = parseUri(source.uri);
  return uri.scheme === 'file' ? undefined : proxyFor(egressOf(store), uri.host!);
}

/** Refreshes the source's lists (signature checked) and asks apt what an upgrade would install. */
async function pending(run: UpdateRun, source: UpdateSource, place: AptPlace): Promise<{ conf: string; updates: PendingUpdate[] }> {
  const proxy = proxyForSource(run.store, source);
  const conf = writeAptFiles(place, source, proxy && aptProxy(proxy));
  // A failure names the proxy it went through (never its password), as every outbound connection's does.
  const reading = `reading ${source.uri}${proxy ? ` through the proxy ${proxyAddress(proxy)}` : ''}`;
  run.progress?.(reading);
  await aptGet(conf, ['update', '--error-on=any'], APT_LIMITS.updateMs, reading, run.signal);
  const simulated = await aptGet(conf, ['-s', 'upgrade'], APT_LIMITS.simulateMs, 'working out the updates', run.signal);
  return { conf, updates: parseSimulatedUpgrade(simulated.stdout) };
}

function record(store: Store, source: UpdateSource, updates: PendingUpdate[]): UpdateCheck {
  const check: UpdateCheck = { at: new Date().toISOString(), source: source.uri, updates };
  store.settings.set('security.lastCheck', check);
  return check;
}

/** `security check`: the updates pending from the source, kept for the banner. */
export function checkUpdates(run: UpdateRun): Promise<UpdateCheck> {
  return alone('check', async () => {
    const source = configuredSource(run.store);
    const place = placeOf(run.home);
    try {
      const { updates } = await pending(run, source, place);
      return record(run.store, source, updates);
    } finally {
      removeAptConf(place);
    }
  });
}

export interface UpdateOutcome {
  installed: { package: string; from: string; to: string }[];
  /** Pending updates apt did not install (held back: they need a package removed or added). */
  stillPending: PendingUpdate[];
  rebootRequired: boolean;
}

/** Whether this node may have its packages changed: an appliance, or a test's own OS root. */
export function mayInstall(store: Store): boolean {
  return osRoot() !== '/' || store.settings.get('daemon')?.appliance === true;
}

/** `security update`: installs what is pending (apt-get upgrade: never removes a package), then says what changed. */
export function installUpdates(run: UpdateRun): Promise<UpdateOutcome> {
  return alone('update', async () => {
    if (!mayInstall(run.store)) {
      throw failure('not-an-appliance', "security update installs packages into this machine's operating system: it runs only on an appliance (platformd --appliance), or into PLATFORM_OS_ROOT");
    }
    const source = configuredSource(run.store);
    const place = placeOf(run.home);
    try {
      // An update never starts on top of one that stopped half-way: what it left is configured first (or the failure said again).
      await completeInterrupted(place);
      const { conf, updates } = await pending(run, source, place);
      if (updates.length === 0) {
        record(run.store, source, []);
        return { installed: [], stillPending: [], rebootRequired: rebootRequired() };
      }
      const names = updates.map((u) => u.package);
      const before = await installedVersions(place.root, names, run.signal);
      run.progress?.(`installing ${updates.length} update${updates.length === 1 ? '' : 's'}`);
      const changed = async () => {
        const after = await installedVersions(place.root, names);
        return names.filter((name) => after.get(name) !== undefined && after.get(name) !== before.get(name)).map((name) => ({ package: name, from: before.get(name) ?? 'none', to: after.get(name)! }));
      };
      try {
        // Not cancelled by Ctrl-C or a client gone: dpkg stopped half-way leaves packages half-installed. Its time bound still holds.
        await aptUpgrade(place, conf);
      } catch (error) {
        // Packages are installed one by one: say which ones were before it stopped.
        const done = await changed().catch(() => []);
        const message = (error as Error).message;
        const installed = done.length ? `installed before it stopped: ${done.map((i) => `${i.package} ${i.to}`).join(', ')}` : 'nothing was installed';
        throw failure('update-failed', `${message}; ${installed}; run "security update" again once the cause is fixed: it first completes what this run left half-done`);
      }
      const installed = await changed();
      // What is left pending, as apt sees it now (no new download).
      const left = parseSimulatedUpgrade((await aptGet(conf, ['-s', 'upgrade'], APT_LIMITS.simulateMs, 'working out what is left', run.signal)).stdout);
      record(run.store, source, left);
      return { installed, stillPending: left, rebootRequired: rebootRequired() };
    } finally {
      removeAptConf(place);
    }
  });
}

/** Debian's packages (the kernel, libc ...) leave this file when the node must reboot to run what they installed. */
export const rebootRequired = (): boolean => existsSync(join(osRoot(), 'run', 'reboot-required'));
