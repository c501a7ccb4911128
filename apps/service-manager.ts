// Starting and stopping the node's applications. On an appliance systemd
// runs them (one unit per app); in the embedded default a small built-in
// supervisor runs the commands listed in <home>/etc/apps.json. Either way,
// the firewall sees a started app's ports listen and opens them, and closes
// them when it stops.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, failure } from '../core/errors.js';
import type { Runtime, Subsystem } from '../core/runtime.js';
import { endChild, runProcess } from '../os/processes.js';
import { controlOf, type ServiceControl } from './controls.js';

declare module '../core/context.js' {
  interface Services {
    apps?: ServiceManager;
    /** How a catalog service is run on this node, and whether `app start|stop` may act on it (apps/controls.ts). */
    appControl?: (service: string) => Promise<ServiceControl>;
  }
}

export interface AppDefinition {
  /** The app's name, as typed in `app start <name>`. */
  name: string;
  /** The catalog service whose ports it serves. */
  service: string;
  /** Embedded default: the command the supervisor runs. */
  command?: string[];
  /** Appliance: the systemd unit. */
  unit?: string;
  /** Writes the app's data to stdout for `backup create` (e.g. a database dump). */
  dump?: string[];
  /** Reads a dump on stdin at `backup restore`. */
  restore?: string[];
  /** Appliance: the web front end, which platformd runs itself (nginx under its home), not a unit. */
  webFrontEnd?: true;
}

export type AppState = 'running' | 'stopped' | 'not installed';

export interface ServiceManager {
  readonly backend: 'systemd' | 'supervisor';
  apps(): AppDefinition[];
  state(name: string): Promise<AppState>;
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  stopAll(): Promise<void>;
}

export class Supervisor implements ServiceManager {
  readonly backend = 'supervisor';
  private readonly children = new Map<string, ChildProcess>();

  constructor(private readonly runtime: Runtime) {}

  apps(): AppDefinition[] {
    try {
      return JSON.parse(readFileSync(join(this.runtime.paths.etc, 'apps.json'), 'utf8')) as AppDefinition[];
    } catch {
      return [];
    }
  }

  private find(name: string): AppDefinition {
    const app = this.apps().find((a) => a.name === name);
    if (!app) throw badInput('unknown-app', `no app "${name}" on this node; see "app list"`);
    if (!app.command?.length) throw failure('not-installed', `${name} is not installed on this node`);
    return app;
  }

  async state(name: string): Promise<AppState> {
    return this.stateNow(name);
  }

  private stateNow(name: string): AppState {
    const app = this.apps().find((a) => a.name === name);
    if (!app?.command?.length) return 'not installed';
    const child = this.children.get(name);
    return child && child.exitCode === null && child.signalCode === null ? 'running' : 'stopped';
  }

  async start(name: string): Promise<void> {
    const app = this.find(name);
    if (this.stateNow(name) === 'running') throw badInput('already-running', `${name} is already running`);
    const [file, ...args] = app.command!;
    const child = spawn(file!, args, { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(failure('start-failed', `${name} did not start: ${error.message}`)));
    });
    child.once('exit', (code, signal) => {
      // stop() forgets the child before it exits: still known here means nobody asked it to stop.
      if (this.children.get(name) !== child) return;
      this.runtime.log('warn', `${name} exited (${signal ?? code})`);
      this.runtime.services.events?.raise({ name: 'app-stopped', level: 'error', text: `application ${name} stopped without being told to (${signal ? `signal ${signal}` : `exit status ${code}`})` });
    });
    this.children.set(name, child);
  }

  /** SIGTERM, then SIGKILL after `graceMs` (5 s for `app stop`; 1 s when the daemon stops, whose own stop is bounded). */
  async stop(name: string, graceMs = 5000): Promise<void> {
    this.find(name);
    const child = this.children.get(name);
    if (!child || this.stateNow(name) !== 'running') throw badInput('not-running', `${name} is not running`);
    this.children.delete(name);
    await endChild(child, 'SIGTERM', graceMs);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children.keys()].map((name) => this.stop(name, 1000).catch(() => undefined)));
  }
}

export class Systemd implements ServiceManager {
  readonly backend = 'systemd';

  constructor(
    private readonly definitions: AppDefinition[],
    private readonly runtime?: Runtime,
  ) {}

  /** The web front end, when `name` is it. */
  private webOf(name: string) {
    if (!this.definitions.find((a) => a.name === name)?.webFrontEnd) return undefined;
    const web = this.runtime?.services.web;
    if (!web) throw failure('no-web', 'the web front end is not running in this daemon');
    return web;
  }

  apps(): AppDefinition[] {
    return this.definitions;
  }

  private unitOf(name: string): string {
    const app = this.definitions.find((a) => a.name === name);
    if (!app?.unit) throw badInput('unknown-app', `no app "${name}" on this node; see "app list"`);
    return app.unit;
  }

  async state(name: string): Promise<AppState> {
    const web = this.webOf(name);
    if (web) return web.nginx.running() ? 'running' : 'stopped';
    const unit = this.definitions.find((a) => a.name === name)?.unit;
    if (!unit) return 'not installed';
    // A unit systemd has no file for is not installed, not stopped.
    const load = await runProcess('systemctl', ['show', '--property=LoadState', '--value', unit], { timeoutMs: 10_000 });
    if (load.stdout.trim() === 'not-found') return 'not installed';
    const result = await runProcess('systemctl', ['is-active', unit], { timeoutMs: 10_000 });
    return result.stdout.trim() === 'active' ? 'running' : 'stopped';
  }

  /** systemctl off the event loop: a unit that takes long to start must not stall every other caller. */
  private async systemctl(verb: 'start' | 'stop', name: string): Promise<void> {
    const unit = this.unitOf(name);
    const result = await runProcess('systemctl', [verb, unit], { timeoutMs: 120_000 });
    if (result.status !== 0) throw failure(`${verb}-failed`, `systemctl ${verb} ${unit}: ${result.stderr.trim() || `exit ${result.status ?? result.signal}`}`);
  }

  async start(name: string) {
    const web = this.webOf(name);
    if (!web) return this.systemctl('start', name);
    if (!web.nginx.running()) await web.start();
  }

  async stop(name: string) {
    const web = this.webOf(name);
    if (!web) return this.systemctl('stop', name);
    await web.nginx.stop();
  }

  async stopAll(): Promise<void> {
    // systemd owns the units' lives; the daemon stopping does not stop them.
  }
}

/** The systemd units of an appliance's apps. */
const APPLIANCE_APPS: readonly AppDefinition[] = [
  { name: 'nginx', service: 'https', webFrontEnd: true },
  { name: 'snmpd', service: 'snmp', unit: 'snmpd.service' },
  { name: 'database', service: 'database', unit: 'mongod.service' },
];

export const appsSubsystem: Subsystem = {
  name: 'service manager',
  async start(runtime) {
    const manager: ServiceManager = runtime.options.appliance ? new Systemd([...APPLIANCE_APPS], runtime) : new Supervisor(runtime);
    runtime.services.apps = manager;
    runtime.services.appControl = (service) => controlOf(runtime, service);
    runtime.services.serviceInstalled = async (service) => (await controlOf(runtime, service)).installed;
    return () => manager.stopAll();
  },
};
