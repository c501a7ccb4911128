// `snmp ...`: the node's SNMP agent (Debian's snmpd, configured by the
// product): v2c communities, v3 users (passwords asked at the prompt, never
// on the command line), sysLocation and sysContact. Trap destinations are
// `notify` targets.

import { SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS } from '../net/uri.js';
import type { SnmpAgent } from '../snmp/agent.js';
import { checkName, checkPassword, checkSource, checkText, SnmpInputError } from '../snmp/config.js';
import { choice, text } from '../core/argtypes.js';
import { json } from '../core/json-shape.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Json } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';

/** A grammar of snmp/config.ts as an argument type: refused words never reach snmpd.conf. */
const checked = (hint: string, check: (value: string) => string): ArgType<string> => ({
  hint,
  parse(value) {
    try {
      return check(value);
    } catch (error) {
      if (error instanceof SnmpInputError) throw badInput('bad-snmp-value', `${hint}: ${error.message}`);
      throw error;
    }
  },
});

const communityName = checked('<community>', (v) => checkName('community', v));
const userName = checked('<user>', (v) => checkName('user', v));
const source = checked('<source>', checkSource);
const authProtocol = choice('<auth>', SNMP_AUTH_PROTOCOLS);
const privProtocol = choice('<priv>', [...SNMP_PRIV_PROTOCOLS, 'none'] as const);

function agentOf(ctx: Context): SnmpAgent {
  const agent = ctx.services.snmp;
  if (!agent) throw failure('no-snmp', 'the SNMP agent subsystem is not running');
  return agent;
}

/** Runs a change through the agent; snmpd's own refusal is the person's input, anything else a failure. */
async function change(ctx: Context, fn: Parameters<SnmpAgent['update']>[0]): Promise<void> {
  try {
    await agentOf(ctx).update(fn);
  } catch (error) {
    if (error instanceof SnmpInputError) throw badInput('bad-snmp-value', error.message);
    if ((error as { exitStatus?: number }).exitStatus) throw error;
    throw failure('snmp-failed', `the SNMP agent was not changed: ${(error as Error).message}`);
  }
}

const statusShape = json.object({
  snmp: json.object({ agent: json.string(), location: json.nullable(json.string()), contact: json.nullable(json.string()), communities: json.nullable(json.string()), users: json.nullable(json.string()) }),
});

function status(ctx: Context): { [key: string]: Json } {
  const agent = agentOf(ctx);
  const settings = agent.settings();
  const secrets = agent.secrets();
  return {
    snmp: {
      agent: agent.running() ? 'running' : settings.communities.length || settings.users.length ? 'not running' : 'off (no community or user)',
      location: settings.location ?? null,
      contact: settings.contact ?? null,
      communities: settings.communities.map((c) => `${c.name} from ${c.source ?? 'management sources'}`).join(', ') || null,
      users: settings.users.map((u) => `${u.name} (${u.auth}/${u.priv}${secrets[u.name] ? '' : ', passwords missing'})`).join(', ') || null,
    },
  };
}

const commands: Command[] = [
  defineCommand({
    words: ['snmp', 'community', 'add'],
    summary: 'Allow SNMP v2c reads with a community, from a source (default: the management sources)',
    json: statusShape,
    args: [
      { name: 'community', type: communityName },
      { name: 'source', type: source, optional: true },
    ],
    async run(ctx, args) {
      const name = args.community;
      await change(ctx, (settings) => {
        if (settings.communities.some((c) => c.name === name)) throw badInput('community-exists', `community ${name} exists; delete it first to change its source`);
        settings.communities.push({ name, ...(args.source ? { source: args.source } : {}) });
      });
      return reply.tree(status(ctx));
    },
  }),
  defineCommand({
    words: ['snmp', 'community', 'del'],
    summary: 'Remove an SNMP v2c community',
    json: statusShape,
    args: [{ name: 'community', type: communityName }],
    async run(ctx, args) {
      await change(ctx, (settings) => {
        const before = settings.communities.length;
        settings.communities = settings.communities.filter((c) => c.name !== args.community);
        if (settings.communities.length === before) throw badInput('no-such-community', `there is no community ${args.community}; see "snmp community list"`);
      });
      return reply.tree(status(ctx));
    },
  }),
  defineCommand({
    words: ['snmp', 'community', 'list'],
    summary: 'List the SNMP v2c communities',
    json: json.array(json.object({ community: json.string(), source: json.string() })),
    run(ctx) {
      const list = agentOf(ctx).settings().communities;
      return reply.table(['community', 'source'], list.map((c) => [c.name, c.source ?? 'management sources']));
    },
  }),
  defineCommand({
    words: ['snmp', 'user', 'add'],
    summary: 'Add an SNMP v3 user (auth: MD5|SHA|SHA-224..512, priv: DES|AES|none); passwords are asked, or read from standard input',
    json: statusShape,
    args: [
      { name: 'user', type: userName },
      { name: 'auth', type: authProtocol },
      { name: 'priv', type: privProtocol },
    ],
    options: [
      {
        name: 'passwords-from-stdin',
        type: text(),
        flag: true,
        summary: 'for scripts: read the passwords from standard input, a line each (authentication, then privacy unless priv is none)',
      },
    ],
    async run(ctx, args) {
      const name = args.user;
      if (agentOf(ctx).settings().users.some((u) => u.name === name)) throw badInput('user-exists', `SNMP user ${name} exists; delete it first to change it`);
      const fromStdin = args['passwords-from-stdin'] === true;
      const ask = async (kind: string) => {
        const value = await ctx.ask({ text: `${kind} for ${name}`, secret: true, fromStdin });
        try {
          return checkPassword(kind, value);
        } catch (error) {
          throw badInput('bad-password', (error as Error).message);
        }
      };
      const authPassword = await ask('authentication password');
      const privPassword = args.priv === 'none' ? undefined : await ask('privacy password');
      await change(ctx, (settings, secrets) => {
        settings.users.push({ name, auth: args.auth, priv: args.priv });
        secrets[name] = { authPassword, ...(privPassword ? { privPassword } : {}) };
      });
      return reply.tree(status(ctx));
    },
  }),
  defineCommand({
    words: ['snmp', 'user', 'del'],
    summary: 'Remove an SNMP v3 user',
    json: statusShape,
    args: [{ name: 'user', type: userName }],
    async run(ctx, args) {
      await change(ctx, (settings, secrets) => {
        const before = settings.users.length;
        settings.users = settings.users.filter((u) => u.name !== args.user);
        if (settings.users.length === before) throw badInput('no-such-user', `there is no SNMP user ${args.user}; see "snmp user list"`);
        delete secrets[args.user];
      });
      return reply.tree(status(ctx));
    },
  }),
  defineCommand({
    words: ['snmp', 'user', 'list'],
    summary: 'List the SNMP v3 users',
    json: json.array(json.object({ user: json.string(), auth: json.string(), priv: json.string(), passwords: json.oneOf('set', 'missing') })),
    run(ctx) {
      const agent = agentOf(ctx);
      const secrets = agent.secrets();
      return reply.table(['user', 'auth', 'priv', 'passwords'], agent.settings().users.map((u) => [u.name, u.auth, u.priv, secrets[u.name] ? 'set' : 'missing']));
    },
  }),
  ...(['location', 'contact'] as const).map(
    (field) => defineCommand({
      words: ['snmp', field],
      summary: `Set the agent's sys${field === 'location' ? 'Location' : 'Contact'}`,
      json: statusShape,
      args: [{ name: 'text', type: checked('<text>', (v) => checkText(field, v)), rest: true }],
      async run(ctx, args) {
        const text = checkText(field, args.text.join(' '));
        await change(ctx, (settings) => {
          settings[field] = text;
        });
        return reply.tree(status(ctx));
      },
    }),
  ),
  defineCommand({
    words: ['snmp', 'status'],
    summary: 'Show the SNMP agent: running or not, communities, users, location, contact',
    json: statusShape,
    run: (ctx) => reply.tree(status(ctx)),
  }),
];

export const snmpGroup: Group = { word: 'snmp', summary: 'snmp configuration', commands };
