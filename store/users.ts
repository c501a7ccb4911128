// Console users and their rights (migrations 2 and 3): which accounts the
// console knows besides the administrators, whether each must change its
// password, and the command prefixes granted to it. Passwords and failed
// logins are the operating system's to keep, not the store's.

import type { Connection } from './connection.js';
import { checkedRow } from './rows.js';

interface Row {
  name: string;
  must_change: number;
  created_at: string;
}

export interface UserRow {
  name: string;
  /** Must set a new password at the next login. */
  mustChange: boolean;
}

export class Users {
  constructor(private readonly c: Connection) {}

  /** Every user, by name. */
  list(): UserRow[] {
    return (this.c.db.prepare('SELECT * FROM users ORDER BY name').all() as Row[]).map((row) => checkedRow('users', row)).map((u) => ({ name: u.name, mustChange: u.must_change === 1 }));
  }

  names(): string[] {
    return this.list().map((u) => u.name);
  }

  exists(name: string): boolean {
    return this.c.db.prepare('SELECT 1 FROM users WHERE name = ?').get(name) !== undefined;
  }

  /** Adds a user who must choose a password at the first login. */
  add(name: string, createdAt: string): void {
    const row = checkedRow('users', { name, must_change: 1, created_at: createdAt });
    this.c.tx(() => this.c.db.prepare('INSERT INTO users (name, must_change, created_at) VALUES (@name, @must_change, @created_at)').run(row));
  }

  /** Removes a user and (by cascade) their rights. */
  remove(name: string): void {
    this.c.tx(() => this.c.db.prepare('DELETE FROM users WHERE name = ?').run(name));
  }

  setMustChange(name: string, mustChange: boolean): void {
    this.c.tx(() => this.c.db.prepare('UPDATE users SET must_change = ? WHERE name = ?').run(mustChange ? 1 : 0, name));
  }

  /** The command prefixes granted to a user (words separated by a space), sorted. */
  grants(user: string): string[] {
    return (this.c.db.prepare('SELECT * FROM user_rights WHERE user = ? ORDER BY prefix').all(user) as { user: string; prefix: string }[]).map((r) => checkedRow('user_rights', r).prefix);
  }

  /** Grants a prefix (granting it twice is one grant). */
  grant(user: string, prefix: string): void {
    checkedRow('user_rights', { user, prefix });
    this.c.tx(() => this.c.db.prepare('INSERT OR IGNORE INTO user_rights (user, prefix) VALUES (?, ?)').run(user, prefix));
  }

  /** Revokes a prefix; false when the user did not hold it. */
  revoke(user: string, prefix: string): boolean {
    return this.c.tx(() => this.c.db.prepare('DELETE FROM user_rights WHERE user = ? AND prefix = ?').run(user, prefix).changes > 0);
  }
}
