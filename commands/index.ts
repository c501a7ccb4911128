// Every command group of the console, in one list. A group lives in its own
// file; adding one is an import and an entry here.

import { buildTree, groupsOf } from './tree.js';
import { healthGroup, helpGroup } from './health.js';
import { systemGroup } from './system.js';
import { firewallGroup } from './firewall.js';
import { appGroup } from './app.js';
import { webGroup } from './web.js';
import { backupGroup } from './backup.js';
import { notifyGroup } from './notify.js';
import { networkGroup } from './network.js';
import { diagGroup } from './diag.js';
import { clusterGroup } from './cluster.js';
import { logGroup } from './log.js';
import { userGroup } from './user.js';
import { keysGroup } from './keys.js';
import { rightsOf } from '../daemon/rights.js';
import type { Group } from './types.js';

const commandGroups: Group[] = [healthGroup, systemGroup, appGroup, firewallGroup, webGroup, networkGroup, backupGroup, notifyGroup, diagGroup, clusterGroup, logGroup, userGroup, keysGroup];

/** The groups `help` lists: the ones the caller may use, menu groups only. */
const listedTree = () => buildTree(commandGroups.filter((g) => g.listed !== false));

export const groups: readonly Group[] = [
  ...commandGroups,
  helpGroup((ctx) => groupsOf(listedTree(), rightsOf(ctx.store, ctx.caller.user, ctx.caller.authenticated).visible)),
];
