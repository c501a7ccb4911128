// `app ...`: the node's applications, their ports and their state. Stopping
// an app closes its firewall ports; starting it opens them.

import { hostname as osHostname } from 'node:os';
import { servicesFor } from '../catalog/derive.js';
import type { ServiceSpec } from '../catalog/services.js';
import { nodeOrDefault } from '../store/node.js';
import type { AppDefinition, ServiceManager } from '../apps/service-manager.js';
import { json, messageShape } from '../core/json-shape.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Json } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';

function managerOf(ctx: Context): ServiceManager {
  if (!ctx.services.apps) throw failure('no-service-manager', 'the service manager is not running in this daemon');
  return ctx.services.apps;
}

const appName: ArgType<string> = {
  hint: '<app>',
  parse(value) {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(value)) throw badInput('bad-app-name', `<app>: "${value}" is not an app name`);
    return value;
  },
  complete: (ctx) => managerOf(ctx).apps().map((a) => a.name),
};

interface AppView {
  service: ServiceSpec;
  ports: string;
  running: boolean;
  processes: { name: string; state: string }[];
}

async function view(ctx: Context): Promise<AppView[]> {
  const node = nodeOrDefault(ctx.store, osHostname());
  const apps = ctx.services.apps?.apps() ?? [];
  const firewall = ctx.services.firewall;
  return Promise.all(
    servicesFor(node.roles).map(async (service) => {
      const processes = await Promise.all(apps.filter((a: AppDefinition) => a.service === service.name).map(async (a) => ({ name: a.name, state: await ctx.services.apps!.state(a.name) })));
      const running = firewall ? firewall.isRunning(service) : processes.some((p) => p.state === 'running');
      return { service, ports: service.ports.map((p) => `${p.port}/${p.protocol}`).join(', '), running, processes };
    }),
  );
}

const list = defineCommand({
  words: ['app', 'list'],
  summary: 'List the applications of this node with their ports',
  json: json.array(json.object({ app: json.string(), ports: json.string(), reachableBy: json.string(), purpose: json.string() })),
  async run(ctx) {
    const rows = (await view(ctx)).map((v) => [v.service.name, v.ports, v.service.scope, v.service.purpose]);
    return reply.table(['app', 'ports', 'reachable by', 'purpose'], rows);
  },
});

const status = defineCommand({
  words: ['app', 'status'],
  summary: 'Show every application and its processes with their state',
  json: json.object({
    apps: json.array(json.object({ name: json.string(), ports: json.string(), running: json.boolean(), processes: json.array(json.object({ name: json.string(), state: json.string() })) })),
    firewall: json.nullable(json.object({ applied: json.boolean(), mode: json.oneOf('plan', 'apply') })),
  }),
  async run(ctx) {
    const apps = await view(ctx);
    const line = (name: string, state: string) => `   |-${name.padEnd(22)}${state}`;
    const lines: string[] = [];
    for (const app of apps) {
      lines.push(`${app.service.name} (${app.ports})`);
      const processes = app.processes.length ? app.processes : [{ name: app.service.name, state: app.running ? 'running' : 'stopped' }];
      // Something else may serve the ports (nginx started by hand): say so rather than "stopped".
      for (const p of processes) lines.push(line(p.name, p.state === 'stopped' && app.running ? 'running (not supervised)' : p.state));
    }
    const fw = ctx.services.firewall?.status();
    lines.push('services', line('firewall', !fw ? 'stopped' : fw.applied ? 'running (completed)' : `running (plan: ${fw.reason ?? 'not applied'})`));
    const data: Json = {
      apps: apps.map((a) => ({ name: a.service.name, ports: a.ports, running: a.running, processes: a.processes })),
      firewall: fw ? { applied: fw.applied, mode: fw.mode } : null,
    };
    return reply.blocks([{ kind: 'text', text: lines.join('\n') }], data);
  },
});

const startStop = (verb: 'start' | 'stop'): Command =>
  defineCommand({
  words: ['app', verb],
  summary: verb === 'start' ? 'Start an application; its firewall ports open' : 'Stop an application; its firewall ports close',
  args: [{ name: 'app', type: appName }],
  json: messageShape,
  confirm: verb === 'stop' ? ({ app }) => `Stop ${app}? Its ports close to every client.` : undefined,
  async run(ctx, { app: name }) {
    const manager = managerOf(ctx);
    await (verb === 'start' ? manager.start(name) : manager.stop(name));
    // Apply at once rather than waiting for the watcher's next look.
    const result = await ctx.services.firewall?.reconcile();
    return reply.text(`${name} ${verb === 'start' ? 'started' : 'stopped'}${result ? `; firewall ${result.applied ? `updated in ${result.ms.toFixed(0)} ms` : `not applied (${result.reason})`}` : ''}`);
  },
  });

export const appGroup: Group = { word: 'app', summary: 'manage applications', commands: [list, status, startStop('start'), startStop('stop')] };
