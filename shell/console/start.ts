// Opening the interactive console. The banner is fetched and written with
// plain escape codes BEFORE Ink and React load, so a login shows it at once;
// the rest of the console follows.

import { flushCompileCache } from 'node:module';
import { hostname as osHostname } from 'node:os';
import type { BannerLine, CallerClaim } from '../../core/protocol.js';
import { escapeControls } from '../../core/escape.js';
import type { Paths } from '../../core/paths.js';
import { DaemonUnreachable, request } from '../client.js';
import type { Redactor } from './history.js';

const YELLOW = '\x1b[1;33m';
const RESET = '\x1b[0m';

export async function openConsole(paths: Paths, caller: CallerClaim): Promise<number> {
  let hostname = osHostname();
  let daemonUp = true;
  let lines: BannerLine[];
  try {
    const response = await request(paths.socket, { op: 'banner', caller });
    if (response.type !== 'banner') throw new Error('unexpected answer from platformd');
    lines = response.lines;
    hostname = response.hostname;
  } catch (error) {
    if (!(error instanceof DaemonUnreachable)) throw error;
    daemonUp = false;
    const { localBanner } = await import('../../status/local.js');
    ({ lines, hostname } = await localBanner(paths));
  }
  process.stdout.write(lines.map((l) => (l.warning ? `${YELLOW}${escapeControls(l.text)}${RESET}` : escapeControls(l.text))).join('\n') + '\n\n');

  const historyFile = `${paths.history}/${caller.user}`;
  const [{ runConsole }, { unreachableMessage }] = await withoutFetch(() => Promise.all([import('./app.js'), import('../unreachable.js')]));
  const unreachable = (message: string) => unreachableMessage(paths, message);
  // The command tree (which arguments are secret) loads once the prompt is drawn; then the history, through it.
  const ready = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => Promise.all([loadRedactor(), import('./history.js')]))
    .then(([redact, { readHistory }]) => {
      // Everything the console needs is compiled now: keep it for the next start (bin/compile-cache.js), even if this one ends by a hang-up.
      flushCompileCache?.();
      return { redact, history: readHistory(historyFile, redact) };
    });
  return runConsole({ socket: paths.socket, caller, hostname, daemonUp, historyFile, historyDir: paths.history, ready, unreachable });
}

/** The static command tree knows which arguments are secret; without it, what looks like a password is hidden. */
async function loadRedactor(): Promise<Redactor> {
  const [{ historyRedactor }, { redactSecrets }] = await Promise.all([import('./history.js'), import('../../net/uri.js')]);
  try {
    const [{ groups }, { buildTree }] = await Promise.all([import('../../commands/index.js'), import('../../commands/tree.js')]);
    return historyRedactor(buildTree(groups));
  } catch {
    return (line) => redactSecrets(line);
  }
}

/**
 * Runs `load` with no global fetch: Ink's layout engine (yoga) fetches its
 * inlined WebAssembly with fetch() when there is one, which loads Node's
 * whole HTTP client for a data: URL; without it, it decodes it in place.
 * The property is moved aside by its descriptor (reading it would load that client).
 */
async function withoutFetch<T>(load: () => Promise<T>): Promise<T> {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (!descriptor?.configurable) return load();
  delete (globalThis as { fetch?: unknown }).fetch;
  try {
    return await load();
  } finally {
    Object.defineProperty(globalThis, 'fetch', descriptor);
  }
}
