// `app ...`: the node's applications, their ports and their state. Stopping
// an app closes its firewall ports; starting it opens them.

import { hostname as osHostname } from 'node:os';
import { servicesFor } from '../catalog/derive.js';
import type { ServiceSpec } from '../catalog/services.js';
import { nodeOrDefault } from '../store/node.js';
import type { AppDefinition, ServiceManager } from '../apps/service-manager.js';
import type { ServiceControl } from '../apps/controls.js';
import { json, messageShape } from '../core/json-shape.js';
import { badInput, failure } from '../core/errors.js';
import { reply, type Json } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';

function managerOf(ctx: Context): ServiceManager {
  if (!ctx.services.apps) throw failure('no-service-manager', 'the service manager is not running in this daemon');
  return ctx.services.apps;
}

/** The names `app start|stop` take: the services `app list` shows, and the service manager's own app names. */
function appNames(ctx: Context): string[] {
  const node = nodeOrDefault(ctx.store, osHostname());
  return [...new Set([...servicesFor(node.roles).map((s) => s.name), ...(ctx.services.apps?.apps().map((a) => a.name) ?? [])])];
}

const appName: ArgType<string> = {
  hint: '<app>',
  parse(value) {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(value)) throw badInput('bad-app-name', `<app>: "${value}" is not an app name`);
    return value;
  },
  complete: appNames,
};

/** The ports a service really has on this node (the web front end and the agent may be moved from the catalog's). */
function localPorts(ctx: Context, service: ServiceSpec): string {
  const firewall = ctx.services.firewall;
  return service.ports.map((p) => `${firewall ? firewall.localPort(p.port) : p.port}/${p.protocol}`).join(', ');
}

interface AppView {
  service: ServiceSpec;
  ports: string;
  running: boolean;
  /** What serves it, and whether `app start|stop` may act on it. */
  control?: ServiceControl;
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
      const control = await ctx.services.appControl?.(service.name);
      return { service, ports: localPorts(ctx, service), running, control, processes };
    }),
  );
}

/** What `app list` says of a service's state: running or not, not installed, or why the console does not control it. */
function stateOf(v: AppView): string {
  if (v.control && !v.control.installed) return 'not installed';
  const state = v.running ? 'running' : 'stopped';
  return v.control?.fixed ? `${state}, not controllable` : state;
}

const list = defineCommand({
  words: ['app', 'list'],
  summary: 'List the applications of this node with their ports and state; app start|stop take these names',
  json: json.array(json.object({ app: json.string(), ports: json.string(), reachableBy: json.string(), purpose: json.string(), state: json.string(), controllable: json.boolean(), why: json.nullable(json.string()) })),
  async run(ctx) {
    const views = await view(ctx);
    const rows = views.map((v) => [v.service.name, v.ports, v.service.scope, stateOf(v), v.service.purpose]);
    const data = views.map((v) => ({ app: v.service.name, ports: v.ports, reachableBy: v.service.scope, purpose: v.service.purpose, state: stateOf(v), controllable: Boolean(v.control?.installed && !v.control.fixed), why: v.control?.fixed ?? null }));
    // Why a service is not controllable is said once under the table, and by "app start|stop" before anything is asked.
    const notes = views.filter((v) => v.control?.fixed).map((v) => `${v.service.name}: ${v.control!.fixed}`);
    const table = reply.table(['app', 'ports', 'reachable by', 'state', 'purpose'], rows);
    return reply.blocks([...table.blocks, ...(notes.length ? [{ kind: 'text' as const, text: notes.join('\n') }] : [])], data);
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
      const runner = app.control?.runner ?? app.service.name;
      const processes = app.processes.length ? app.processes : [{ name: runner, state: app.control && !app.control.installed ? 'not installed' : app.running ? 'running' : 'stopped' }];
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

/** A name of `app list` (a catalog service) runs through its control; any other through the service manager's app of that name. */
async function target(ctx: Context, name: string): Promise<{ start(): Promise<void>; stop(): Promise<void>; question: string; running(): Promise<boolean> }> {
  const node = nodeOrDefault(ctx.store, osHostname());
  const service = servicesFor(node.roles).find((s) => s.name === name);
  const control = service && (await ctx.services.appControl?.(name));
  if (service && control) {
    if (!control.installed) throw failure('not-installed', `${name} is not installed on this node`);
    if (control.fixed) throw failure('not-controllable', `${name} cannot be stopped or started from the console: ${control.fixed}`);
    const shared = control.sharedWith.length ? ` ${control.runner} also serves ${control.sharedWith.join(', ')}, which stops with it.` : '';
    const ports = [service, ...control.sharedWith.map((s) => servicesFor(node.roles).find((x) => x.name === s)).filter((s): s is ServiceSpec => Boolean(s))].map((s) => localPorts(ctx, s)).join(', ');
    return {
      start: control.start,
      stop: control.stop,
      question: `Stop ${name}? Its ports (${ports}) close to every client.${shared}`,
      running: async () => ctx.services.firewall?.isRunning(service) ?? true,
    };
  }
  const manager = managerOf(ctx);
  const app = manager.apps().find((a) => a.name === name);
  if (!app) throw badInput('unknown-app', `no app "${name}" on this node; see "app list"`);
  return {
    start: () => manager.start(name),
    stop: () => manager.stop(name),
    question: `Stop ${name}? Its ports close to every client.`,
    running: async () => (await manager.state(name)) === 'running',
  };
}

const startStop = (verb: 'start' | 'stop'): Command =>
  defineCommand({
    words: ['app', verb],
    summary: verb === 'start' ? 'Start an application (a name of "app list"); its firewall ports open' : 'Stop an application (a name of "app list"); its firewall ports close',
    args: [{ name: 'app', type: appName }],
    json: messageShape,
    async run(ctx, { app: name }) {
      // What cannot be done is said before anything is asked.
      const app = await target(ctx, name);
      if (verb === 'stop') {
        if (!(await app.running())) throw badInput('not-running', `${name} is not running`);
        if (!(await ctx.confirm(app.question))) throw failure('not-confirmed', ctx.caller.interactive ? 'cancelled' : `${app.question} — not confirmed; add --yes to confirm`);
      }
      await (verb === 'start' ? app.start() : app.stop());
      // Apply at once rather than waiting for the watcher's next look.
      const result = await ctx.services.firewall?.reconcile();
      return reply.text(`${name} ${verb === 'start' ? 'started' : 'stopped'}${result ? `; firewall ${result.applied ? `updated in ${result.ms.toFixed(0)} ms` : `not applied (${result.reason})`}` : ''}`);
    },
  });

export const appGroup: Group = { word: 'app', summary: 'manage applications', commands: [list, status, startStop('start'), startStop('stop')] };
