// The banner's facts as gathered from a node's home: a service nothing is
// installed to run is "not installed", never down and never a warning, and
// a database without its folder shows no made-up "0b".

import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../core/paths.js';
import { bannerLines } from '../../status/banner.js';
import { gatherFacts } from '../../status/facts.js';
import { Store } from '../../store/db.js';
import { writeNode } from '../../store/node.js';
import { tempHome } from '../support/daemon.js';
import { isMachineDiskWarning } from '../support/machine.js';

function unifiedNode() {
  const home = tempHome();
  const store = Store.open(join(home, 'config.db'));
  writeNode(store, { hostname: 'facts01', roles: ['unified', 'webproxy'], ntp: [], dns: [], dataCentre: 'local', maintenance: false });
  return { home, store, paths: pathsFor(home) };
}

describe('the banner facts', () => {
  it('leave a service that is not installed out of what is down, and say so on the banner', async () => {
    const { store, paths } = unifiedNode();
    try {
      const services = { applicationDown: () => ['database', 'https'], serviceInstalled: async (service: string) => service !== 'database' };
      const facts = await gatherFacts(store, paths, services);
      expect(facts.applicationDown).toEqual(['https']);
      expect(facts.notInstalled).toEqual(['database']);
      const lines = bannerLines(facts, new Date());
      expect(lines).toContainEqual({ text: 'database: not installed', warning: false });
      // Only https is down; the machine's own disk may warn besides (a test run fills it), never the database.
      expect(lines.filter((l) => l.warning && !isMachineDiskWarning(l.text, paths.home)).map((l) => l.text)).toEqual(['APPLICATION: HTTPS DOWN']);
    } finally {
      store.close();
    }
  });

  it('show the database size only when its folder exists', async () => {
    const { home, store, paths } = unifiedNode();
    try {
      expect((await gatherFacts(store, paths, {})).databaseBytes).toBeUndefined();
      mkdirSync(join(home, 'database'));
      writeFileSync(join(home, 'database', 'data'), Buffer.alloc(3000));
      expect((await gatherFacts(store, paths, {})).databaseBytes).toBe(3000);
    } finally {
      store.close();
    }
  });
});
