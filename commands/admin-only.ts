// The commands only an administrator may run, whatever a user was granted:
// each could make its caller root (users, keys, restores, membership) or keep
// the administrator out (reboot, firewall, session limit). A grant never
// includes them (users/rights.ts), so `help`, `?` and Tab never show them to
// anyone else, and `user grant` refuses a prefix that holds nothing else.
// An entry names a command, or a path under which every command is one; the
// first entry that covers a command gives its reason, so a command's own
// entry comes before its group's.

import type { Group } from '../core/command.js';

export interface AdminOnlyEntry {
  words: string;
  why: string;
  /** Only the command these words name, not the commands under it (a read-only `status` below may be granted). */
  exact?: true;
}

export const ADMIN_ONLY: readonly AdminOnlyEntry[] = [
  { words: 'user', why: 'users, their rights and keys: whoever manages them can give themselves every right' },
  { words: 'keys', why: "the node's own SSH identity and the hosts it trusts" },
  { words: 'backup restore', why: 'replaces every user, right, key and secret of the node with what an archive holds' },
  { words: 'backup key export', why: 'prints the key that reads every backup of the node' },
  { words: 'backup key', why: 'whoever holds the key reads every backup, and a key of their own makes an archive they built restorable' },
  { words: 'backup add', why: 'a location decides where restores come from and where the node\'s (encrypted) secrets go' },
  { words: 'backup del', why: 'a location decides where restores come from and where the node\'s (encrypted) secrets go' },
  { words: 'cluster prepnode', why: 'membership: every member node trusts every other with its secrets' },
  { words: 'cluster add', why: 'membership: every member node trusts every other with its secrets' },
  { words: 'cluster del', why: 'membership: a removed node loses its cluster access at once' },
  { words: 'cluster provision', why: 'pushes the inventory to every node' },
  { words: 'cluster maintenance-mode start', why: 'suspends every scheduled job on every node' },
  { words: 'cluster maintenance-mode stop', why: 'resumes every scheduled job on every node' },
  { words: 'cluster upgrade', why: 'replaces the software every node runs (as root) with what a release file holds' },
  { words: 'web cluster prepnode', why: 'membership: every member node trusts every other with its secrets' },
  { words: 'system setup', why: "the node's identity and roles" },
  { words: 'system maintenance-mode start', why: 'suspends every scheduled job' },
  { words: 'system maintenance-mode stop', why: 'resumes every scheduled job' },
  { words: 'system reboot', why: 'ends every session, the administrator\'s included' },
  { words: 'system shutdown', why: 'the node stays off until someone starts it from outside' },
  { words: 'system upgrade', exact: true, why: 'replaces the software the node runs (as root) with what a release file holds' },
  { words: 'system release verify', why: 'clears the banner that says a release failed its check' },
  { words: 'system rollback', why: 'replaces the software the node runs, and its configuration with the snapshot taken before the upgrade' },
  { words: 'system release-key', why: 'whoever adds a key can sign the software the node runs as root' },
  { words: 'system ssh_session_limit set', why: 'a low limit keeps the administrator from logging in' },
  { words: 'system banner', why: 'what every person reads before logging in' },
  { words: 'network hostname', why: "the node's name, which the cluster and its certificates know it by" },
  { words: 'network domain', why: "the node's name, which the cluster and its certificates know it by" },
  { words: 'network proxy', why: 'every outbound connection of the node (backups, mail, keys) goes where the proxy says' },
  { words: 'network dns add', why: 'the resolvers decide where every name the node looks up leads' },
  { words: 'network dns del', why: 'the resolvers decide where every name the node looks up leads' },
  { words: 'network interface', why: "the node's addresses and gateways: a change can cut the administrator off" },
  { words: 'network route add', why: "the node's routes: a change can cut the administrator off" },
  { words: 'network route del', why: "the node's routes: a change can cut the administrator off" },
  { words: 'network confirm', why: "keeps or undoes an administrator's networking change" },
  { words: 'network rollback', why: "keeps or undoes an administrator's networking change" },
  { words: 'firewall allow', why: 'who may reach SSH: a change can lock the administrator out' },
  { words: 'firewall deny', why: 'who may reach SSH: a change can lock the administrator out' },
  { words: 'firewall limits set', why: 'how fast anyone may connect: a change can lock the administrator out' },
  { words: 'firewall egress strict', why: 'what the node may reach: a change can cut its backups, mail and cluster' },
  { words: 'firewall egress open', why: 'what the node may reach: opening it lets anything on the node connect anywhere' },
  { words: 'firewall confirm', why: "keeps or undoes an administrator's firewall change" },
  { words: 'firewall rollback', why: "keeps or undoes an administrator's firewall change" },
  { words: 'security source', why: 'the package source decides what software the node installs as root' },
  { words: 'security update', why: 'installs packages as root and restarts services, the SSH server and platformd among them' },
  { words: 'log retention', why: 'the audit log is the record of what every user did' },
];

const covers = (entry: AdminOnlyEntry, words: readonly string[]) => {
  const path = entry.words.split(' ');
  return (!entry.exact || words.length === path.length) && path.every((word, i) => words[i] === word);
};

/** Why a command is the administrators' (its entry's reason), or undefined when it is not. */
export function whyAdminOnly(words: readonly string[]): string | undefined {
  return ADMIN_ONLY.find((entry) => covers(entry, words))?.why;
}

/** The groups with every command the table names marked `adminOnly`; an entry that names no command is a mistake in the table. */
export function withAdminOnly(groups: readonly Group[]): Group[] {
  const all = groups.flatMap((g) => g.commands);
  for (const entry of ADMIN_ONLY) {
    if (!all.some((c) => covers(entry, c.words))) throw new Error(`commands/admin-only.ts: "${entry.words}" names no command`);
  }
  return groups.map((group) => ({
    ...group,
    commands: group.commands.map((command) => (ADMIN_ONLY.some((entry) => covers(entry, command.words)) ? { ...command, adminOnly: true } : command)),
  }));
}
