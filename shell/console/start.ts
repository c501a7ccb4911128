// Opening the interactive console. The banner is fetched and written with
// plain escape codes BEFORE Ink and React load, so a login shows it at once;
// the rest of the console follows.

import { hostname as osHostname } from 'node:os';
import type { BannerLine, CallerClaim } from '../../core/protocol.js';
import { escapeControls } from '../../core/escape.js';
import type { Paths } from '../../core/paths.js';
import { DaemonUnreachable, request } from '../client.js';
import { historyRedactor, readHistory } from './history.js';

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
  const [{ runConsole }, redact, { unreachableMessage }] = await Promise.all([import('./app.js'), loadRedactor(), import('../unreachable.js')]);
  const history = readHistory(historyFile, redact);
  const unreachable = (message: string) => unreachableMessage(paths, message);
  return runConsole({ socket: paths.socket, caller, hostname, daemonUp, history, historyFile, historyDir: paths.history, redact, unreachable });
}

/** The static command tree knows which arguments are secret. */
async function loadRedactor() {
  const [{ groups }, { buildTree }] = await Promise.all([import('../../commands/index.js'), import('../../commands/tree.js')]);
  return historyRedactor(buildTree(groups));
}
