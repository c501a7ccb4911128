// `system ...`: the node's identity and basic state.

import { hostname as osHostname, networkInterfaces, release } from 'node:os';
import { ROLE_NAMES } from '../catalog/roles.js';
import { readNode, writeNode, nodeOrDefault } from '../store/node.js';
import { type NodeSettings } from '../store/settings.js';
import { choice, host, hostname, ipAddress, listOf, name } from '../core/argtypes.js';
import { sshSystemCommands } from './system-ssh.js';
import { releaseCommands } from './release.js';
import { healthMonitoringCommands } from './health-monitoring.js';
import { applyOsSettings, writeOsFiles } from '../net/os-config.js';
import { schedulePowerAction, type PowerAction } from '../appliance/power.js';
import { PLATFORM_VERSION } from './version.js';
import { runningRelease } from '../releases/layout.js';
import { json } from '../core/json-shape.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Json } from '../core/reply.js';
import { defineCommand, type ArgsOf, type Group, type OptionSpec } from '../core/command.js';
import { type Context } from '../core/context.js';

const roleType = listOf(choice('<role>', ROLE_NAMES), '<role>[,<role>...]');
const SETUP = {
  hostname: { name: 'hostname', type: hostname(), summary: 'the node name' },
  role: { name: 'role', type: roleType, summary: 'webproxy, application, database or unified (= application + database)' },
  ip: { name: 'ip', type: ipAddress(), summary: 'the address the cluster knows the node by (default: detected)' },
  ntp: { name: 'ntp', type: listOf(host('<ntp-server>')), summary: 'NTP servers' },
  dns: { name: 'dns', type: listOf(ipAddress('<dns-server>')), summary: 'DNS resolvers' },
  domain: { name: 'domain', type: hostname('<domain>'), summary: 'the DNS domain' },
  dataCentre: { name: 'data-centre', type: name('<data-centre>'), summary: 'the data centre the node stands in' },
} as const;
const setupOptions = [SETUP.hostname, SETUP.role, SETUP.ip, SETUP.ntp, SETUP.dns, SETUP.domain, SETUP.dataCentre] as const;
type SetupValues = ArgsOf<[], typeof setupOptions>;

const identityShape = {
  hostname: json.string(),
  roles: json.array(json.oneOf(...ROLE_NAMES)),
  dataCentre: json.string(),
  domain: json.nullable(json.string()),
  ip: json.nullable(json.string()),
  ntp: json.array(json.string()),
  dns: json.array(json.string()),
};

const setup = defineCommand({
  words: ['system', 'setup'],
  summary: 'Configure the node: hostname, roles, address, NTP, DNS, domain, data centre',
  options: setupOptions,
  json: json.object(identityShape),
  async run(ctx, args) {
    const given = setupOptions.some((o) => args[o.name] !== undefined);
    const values = given ? args : await wizard(ctx);
    const current = nodeOrDefault(ctx.store, osHostname());
    if (values.hostname === undefined && readNode(ctx.store) === undefined) {
      throw badInput('missing-option', 'system setup: --hostname is required the first time');
    }
    if (values.role === undefined && current.roles.length === 0) {
      throw badInput('missing-option', 'system setup: --role is required the first time (webproxy, application, database, unified)');
    }
    const node: NodeSettings = {
      ...current,
      hostname: values.hostname ?? current.hostname,
      roles: values.role ?? current.roles,
      ip: values.ip ?? current.ip,
      ntp: values.ntp ?? current.ntp,
      dns: values.dns ?? current.dns,
      domain: values.domain ?? current.domain,
      dataCentre: values['data-centre'] ?? current.dataCentre,
    };
    const appliance = isAppliance(ctx);
    ctx.store.tx(() => {
      writeNode(ctx.store, node);
      // On an appliance the OS files follow (network commands do the same).
      if (appliance) writeOsFiles(node);
    });
    const warnings = appliance ? await applyOsSettings(current, node) : [];
    return reply.blocks([{ kind: 'tree', value: identity(node) }, ...warnings.map((text) => ({ kind: 'warning' as const, text }))], identity(node));
  },
});

/** Asks each setting in turn, offering the current value. */
async function wizard(ctx: Context): Promise<SetupValues> {
  const current = nodeOrDefault(ctx.store, osHostname());
  // One question after the other, in the order of the options.
  return {
    hostname: await askOption(ctx, SETUP.hostname, current.hostname),
    role: await askOption(ctx, SETUP.role, current.roles.join(',') || 'unified'),
    ip: await askOption(ctx, SETUP.ip, current.ip),
    ntp: await askOption(ctx, SETUP.ntp, current.ntp.join(',')),
    dns: await askOption(ctx, SETUP.dns, current.dns.join(',')),
    domain: await askOption(ctx, SETUP.domain, current.domain),
    'data-centre': await askOption(ctx, SETUP.dataCentre, current.dataCentre),
  };
}

/** Asks for one option until its type accepts the answer; an empty answer leaves it unset. */
async function askOption<T>(ctx: Context, option: OptionSpec<T>, initial: string | undefined): Promise<T | undefined> {
  for (;;) {
    const answer = (await ctx.ask({ text: `${option.summary} (${option.type.hint})`, initial: initial ?? '' })).trim();
    if (answer === '') return undefined;
    try {
      return option.type.parse(answer);
    } catch (error) {
      ctx.progress(`${(error as Error).message}; try again`);
    }
  }
}

function identity(node: NodeSettings): { [key: string]: Json } {
  return {
    hostname: node.hostname,
    roles: node.roles,
    dataCentre: node.dataCentre,
    domain: node.domain ?? null,
    ip: node.ip ?? null,
    ntp: node.ntp,
    dns: node.dns,
  };
}

const info = defineCommand({
  words: ['system', 'info'],
  summary: "Show the node's identity: hostname, roles, data centre, addresses, versions",
  json: json.object({
    ...identityShape,
    configured: json.boolean(),
    addresses: json.array(json.string()),
    versions: json.object({ platform: json.string(), node: json.string(), openssl: json.string(), kernel: json.string() }),
  }),
  run(ctx) {
    const node = nodeOrDefault(ctx.store, osHostname());
    const addresses = Object.entries(networkInterfaces()).flatMap(([iface, list]) =>
      (list ?? []).filter((a) => !a.internal).map((a) => `${a.address}/${a.netmask.includes(':') ? cidrOf6(a.netmask) : cidrOf4(a.netmask)} (${iface})`),
    );
    return reply.tree({
      ...identity(node),
      configured: ctx.store.settings.has('node'),
      addresses,
      versions: { platform: runningRelease()?.version ?? PLATFORM_VERSION, node: process.versions.node, openssl: process.versions.openssl, kernel: release() },
    });
  },
});

const cidrOf4 = (mask: string) => mask.split('.').reduce((bits, octet) => bits + Number(octet).toString(2).replace(/0/g, '').length, 0);
const cidrOf6 = (mask: string) =>
  mask.split(':').reduce((bits, group) => bits + (group ? parseInt(group, 16).toString(2).replace(/0/g, '').length : 0), 0);

const maintenance = (action: 'start' | 'stop' | 'status') => defineCommand({
  words: ['system', 'maintenance-mode', action],
  summary: { start: 'Put the node in maintenance mode', stop: 'Take the node out of maintenance mode', status: 'Show whether the node is in maintenance mode' }[action],
  json: json.object({ maintenanceMode: json.boolean() }),
  confirm: action === 'status' ? undefined : `${action === 'start' ? 'Start' : 'Stop'} maintenance mode on this node? Scheduled jobs are ${action === 'start' ? 'suspended' : 'resumed'}.`,
  run(ctx) {
    const node = nodeOrDefault(ctx.store, osHostname());
    if (action !== 'status') {
      node.maintenance = action === 'start';
      ctx.store.tx(() => writeNode(ctx.store, node));
    }
    return reply.tree({ 'maintenance-mode': node.maintenance ? 'on' : 'off' }, { maintenanceMode: node.maintenance });
  },
});

const isAppliance = (ctx: Context) => ctx.store.settings.get('daemon')?.appliance === true;

/** `system reboot` and `system shutdown`: the whole appliance, through systemd. */
const power = (word: 'reboot' | 'shutdown', action: PowerAction) => defineCommand({
  words: ['system', word],
  summary: word === 'reboot' ? 'Restart the node (every session and service stops; the node comes back with its settings)' : 'Power the node off (it stays off until started from outside)',
  confirm: word === 'reboot' ? 'Reboot this node? Every session, including this one, ends.' : 'Power this node off? It stays off until someone starts it from outside.',
  json: json.object({ action: json.oneOf('reboot', 'poweroff'), message: json.string() }),
  run(ctx) {
    if (!isAppliance(ctx)) throw failure('not-appliance', `system ${word} only runs on an appliance: the embedded default never ${word === 'reboot' ? 'reboots' : 'powers off'} the machine it runs on`);
    schedulePowerAction(action);
    const message = word === 'reboot' ? 'The node is rebooting; log in again in a minute.' : 'The node is powering off.';
    return reply.text(message, { action, message });
  },
});

export const systemGroup: Group = {
  word: 'system',
  summary: 'system administration',
  commands: [setup, info, maintenance('start'), maintenance('stop'), maintenance('status'), power('reboot', 'reboot'), power('shutdown', 'poweroff'), ...sshSystemCommands, ...healthMonitoringCommands, ...releaseCommands],
};
