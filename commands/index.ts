// Every command group of the console, in one list. A group lives in its own
// file; adding one is an import and an entry here.

import { buildTree, groupsOf, nodeAt, usageOf, type TreeNode } from './tree.js';
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
import { mailGroup } from './mail.js';
import { snmpGroup } from './snmp.js';
import { scheduleGroup } from './schedule.js';
import { completionGroup } from './completion.js';
import { securityGroup } from './security.js';
import { withAdminOnly } from './admin-only.js';
import { rightsOf } from '../users/rights.js';
import type { Context } from '../core/context.js';
import type { Group } from '../core/command.js';

const commandGroups: Group[] = withAdminOnly([healthGroup, systemGroup, appGroup, firewallGroup, webGroup, networkGroup, backupGroup, notifyGroup, diagGroup, clusterGroup, logGroup, userGroup, keysGroup, scheduleGroup, completionGroup, mailGroup, snmpGroup, securityGroup]);

/** The groups `help` lists: the ones the caller may use, menu groups only. */
const listedTree = () => buildTree(commandGroups.filter((g) => g.listed !== false));

let wholeTree: TreeNode | undefined;
const visibleTo = (ctx: Context) => rightsOf(ctx.store, ctx.caller.user, ctx.caller.authenticated).visible;

export const groups: readonly Group[] = [
  ...commandGroups,
  helpGroup({
    menu: (ctx) => groupsOf(listedTree(), visibleTo(ctx)),
    usage: (ctx, words) => usageOf(nodeAt((wholeTree ??= buildTree(groups)), words, visibleTo(ctx)), visibleTo(ctx)),
  }),
];
