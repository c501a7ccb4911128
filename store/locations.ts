// Where the node sends things: backup locations and notification targets
// (migration 2). Their URIs may hold a password, so they are sealed at rest
// (store/secrets.ts); these repositories hand out the clear text, which
// net/locations.ts parses and only ever shows redacted.

import type { Connection } from './connection.js';
import type { EventLevel } from './events.js';
import { checkedRow } from './rows.js';

export interface StoredLocation {
  name: string;
  /** The URI in clear text. */
  uri: string;
  /** Where backups go when `uri` cannot be reached (migration 8), in clear text; null without one. */
  alternate: string | null;
}

export interface StoredTarget {
  level: EventLevel;
  /** The URI in clear text. */
  uri: string;
}

export class BackupLocations {
  constructor(private readonly c: Connection) {}

  /** Every location, by name, its URI opened. */
  list(): StoredLocation[] {
    const unseal = (stored: string) => this.c.secrets.unseal(stored);
    return (this.c.db.prepare('SELECT name, uri, alternate FROM backup_locations ORDER BY name').all() as StoredLocation[])
      .map((r) => checkedRow('backup_locations', r, unseal))
      .map((r) => ({ name: r.name, uri: unseal(r.uri), alternate: r.alternate === null ? null : unseal(r.alternate) }));
  }

  has(name: string): boolean {
    return this.c.db.prepare('SELECT 1 FROM backup_locations WHERE name = ?').get(name) !== undefined;
  }

  /** Adds a location, its URIs sealed. */
  add(name: string, uri: string, alternate: string | null = null): void {
    checkedRow('backup_locations', { name, uri, alternate }, (clear) => clear);
    const seal = (clear: string) => this.c.secrets.seal(clear);
    this.c.tx(() => this.c.db.prepare('INSERT INTO backup_locations (name, uri, alternate) VALUES (?, ?, ?)').run(name, seal(uri), alternate === null ? null : seal(alternate)));
  }

  /** Removes a location; false when there was none of that name. */
  remove(name: string): boolean {
    return this.c.tx(() => this.c.db.prepare('DELETE FROM backup_locations WHERE name = ?').run(name).changes > 0);
  }
}

export class NotifyTargets {
  constructor(private readonly c: Connection) {}

  /** Every target, by level and URI, its URI opened. */
  list(): StoredTarget[] {
    return this.rows()
      .map(({ level, uri }) => ({ level, uri }))
      .sort((a, b) => a.level.localeCompare(b.level) || a.uri.localeCompare(b.uri));
  }

  /** Adds targets to a level, sealed; one already there is not added twice (sealed values never compare equal). */
  add(level: EventLevel, uris: readonly string[]): void {
    this.c.tx(() => {
      const present = new Set(this.rows().filter((t) => t.level === level).map((t) => t.uri));
      const insert = this.c.db.prepare('INSERT INTO notify_targets (level, uri) VALUES (?, ?)');
      for (const uri of new Set(uris)) if (!present.has(uri)) insert.run(level, this.c.secrets.seal(checkedRow('notify_targets', { level, uri }, (clear) => clear).uri));
    });
  }

  /** Removes a target from a level; false when it was not there. */
  remove(level: EventLevel, uri: string): boolean {
    const found = this.rows().filter((t) => t.level === level && t.uri === uri);
    const remove = this.c.db.prepare('DELETE FROM notify_targets WHERE rowid = ?');
    this.c.tx(() => found.forEach((t) => remove.run(t.id)));
    return found.length > 0;
  }

  private rows(): (StoredTarget & { id: number })[] {
    const unseal = (stored: string) => this.c.secrets.unseal(stored);
    return (this.c.db.prepare('SELECT rowid, level, uri FROM notify_targets').all() as (StoredTarget & { rowid: number })[]).map((r) => checkedRow('notify_targets', r, unseal)).map((r) => ({ id: r.rowid, level: r.level, uri: unseal(r.uri) }));
  }
}
