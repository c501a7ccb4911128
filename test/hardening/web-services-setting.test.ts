// The web services setting read back from the store: whatever a damaged or
// hand-edited value holds, only known portal names count and at least one
// portal stays enabled (nginx always serves something); a value of another
// shape is refused by the store's own check (store/settings.ts).

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store } from '../../store/db.js';
import { portalStates, readDisabledPortals, writeDisabledPortals } from '../../web/portals.js';
import { tempHome } from '../support/daemon.js';

describe('the web services setting', () => {
  it('keeps only known names and never disables every portal', () => {
    const file = join(tempHome('ps-portals-'), 'config.db');
    const store = Store.open(file);
    // The damage is done from outside, as a hand edit would: the store itself only writes what its types allow.
    const damage = new Database(file);
    const write = damage.prepare("INSERT INTO settings (key, value) VALUES ('web.disabledServices', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    const remove = damage.prepare("DELETE FROM settings WHERE key = 'web.disabledServices'");
    // Values of the setting's shape (a list of names): only known names count, and one portal stays enabled.
    const cases: [unknown, string[]][] = [
      [undefined, []],
      [['selfservice'], ['selfservice']],
      [['admin', 'admin', '../etc'], ['admin']],
      [['admin', 'selfservice'], []],
    ];
    for (const [saved, disabled] of cases) {
      if (saved === undefined) remove.run();
      else write.run(JSON.stringify(saved));
      expect(readDisabledPortals(store), JSON.stringify(saved)).toEqual(disabled);
      expect(portalStates(readDisabledPortals(store)).some((p) => p.enabled)).toBe(true);
    }
    // Values of another shape are refused by the store itself (issue 21), naming the setting.
    for (const saved of [['admin', 7], 'admin', { admin: true }, 42, null]) {
      write.run(JSON.stringify(saved));
      expect(() => readDisabledPortals(store), JSON.stringify(saved)).toThrow(/the config store is invalid: settings "web.disabledServices"/);
    }
    writeDisabledPortals(store, []);
    expect(store.settings.get('web.disabledServices')).toBeUndefined();
    damage.close();
    store.close();
  });
});
