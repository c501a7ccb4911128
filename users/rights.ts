// Who may run what. The appliance's administrator accounts hold every right;
// other users hold the command prefixes granted to them (`user grant joe app`
// grants every `app ...` command; `app start mongodb` grants just that).
// Commands a user may not run are hidden from help and completion too.
// Commands marked `adminOnly` (commands/admin-only.ts) are never part of a
// grant: rights never add up to root.

import type { Command } from '../core/command.js';
import type { Store } from '../store/db.js';

/** Accounts with every right: the appliance's own administrator, and root on the console. */
export const ADMINISTRATORS: ReadonlySet<string> = new Set(['platform', 'root']);

/** What every user may run: the menu of what they were granted, and changing their own password. */
const EVERYONE = [['help'], ['system', 'password']];

/** Whether a command is shown to (and may be completed by) a user. */
export type Visibility = (command: Command) => boolean;

export interface Rights {
  visible: Visibility;
  /** Whether the full line (canonical words and arguments) is covered by a grant. */
  permits(line: string): boolean;
}

/** A proven caller with every right. */
export const isAdministrator = (user: string, authenticated = true) => authenticated && ADMINISTRATORS.has(user);

export function rightsOf(store: Store, user: string, authenticated = true): Rights {
  if (!authenticated) return { visible: (c) => c.words[0] === 'help', permits: (line) => line === 'help' };
  if (isAdministrator(user)) return { visible: (c) => !c.hidden, permits: () => true };
  const grants = [...EVERYONE, ...store.users.grants(user).map((prefix) => prefix.split(' '))];
  const visible = (command: Command) =>
    !command.hidden && !command.adminOnly && grants.some((grant) => grant.every((word, i) => i >= command.words.length || command.words[i] === word));
  const permits = (line: string) => {
    const words = line.split(' ');
    return grants.some((grant) => grant.every((word, i) => words[i] === word));
  };
  return { visible, permits };
}
