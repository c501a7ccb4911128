// The banner as the console can draw it without the daemon: the same facts,
// read from the host and (read-only) from the config store, with a warning
// that platformd is down. Used only on that path, so its imports stay off
// the console's normal start-up.

import { existsSync } from 'node:fs';
import type { BannerLine } from '../core/protocol.js';
import { Store } from '../store/db.js';
import { pathsFor, type Paths } from '../core/paths.js';
import { bannerLines } from './banner.js';
import { gatherFacts } from './facts.js';

export async function localBanner(paths: Paths): Promise<{ lines: BannerLine[]; hostname: string }> {
  let store: Store | undefined;
  try {
    store = existsSync(paths.database) ? Store.openReadOnly(paths.database) : undefined;
  } catch {
    store = undefined; // an unreadable store still leaves the host's own facts
  }
  const scratch = store ?? Store.open(':memory:'); // no store yet: defaults
  try {
    const facts = await gatherFacts(scratch, pathsFor(paths.home), {});
    return { lines: bannerLines({ ...facts, daemonUnreachable: true }, new Date()), hostname: facts.hostname };
  } finally {
    scratch.close();
  }
}
