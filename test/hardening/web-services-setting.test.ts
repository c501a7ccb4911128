// The web services setting read back from the store: whatever a damaged or
// hand-edited value holds, only known portal names count and at least one
// portal stays enabled (nginx always serves something).

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Store } from '../../store/db.js';
import { portalStates, readDisabledPortals, writeDisabledPortals } from '../../web/portals.js';
import { tempHome } from '../support/daemon.js';

describe('the web services setting', () => {
  it('keeps only known names and never disables every portal', () => {
    const store = Store.open(join(tempHome('ps-portals-'), 'config.db'));
    const cases: [unknown, string[]][] = [
      [undefined, []],
      [['selfservice'], ['selfservice']],
      [['admin', 'admin', '../etc', 7], ['admin']],
      [['admin', 'selfservice'], []],
      ['admin', []],
      [{ admin: true }, []],
      [42, []],
      [null, []],
    ];
    for (const [saved, disabled] of cases) {
      store.set('web.disabledServices', saved);
      expect(readDisabledPortals(store), JSON.stringify(saved)).toEqual(disabled);
      expect(portalStates(readDisabledPortals(store)).some((p) => p.enabled)).toBe(true);
    }
    writeDisabledPortals(store, []);
    expect(store.get('web.disabledServices')).toBeUndefined();
    store.close();
  });
});
