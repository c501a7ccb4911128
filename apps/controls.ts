// What runs each catalog service on this node, and whether `app start|stop`
// may act on it by the service's name: the names `app list` shows are the
// names `app start|stop` take. One table says who runs what; a service
// without an entry is run by the service manager's app for it (or is not
// installed when there is none).

import { badInput, failure } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';

/** The service manager (apps/service-manager.ts), as the runtime hands it: no import back into the file that uses this one. */
type ServiceManager = NonNullable<Runtime['services']['apps']>;

export interface ServiceControl {
  /** The catalog service, as `app list` names it. */
  service: string;
  /** The process that serves it: nginx, snmpd, the manager's app, platformd itself, sshd. */
  runner: string;
  installed: boolean;
  /** Why `app start|stop` cannot act on it; undefined when it can. */
  fixed?: string;
  /** The other services the same runner serves (stopping nginx closes http and https). */
  sharedWith: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

type ControlOf = (runtime: Runtime, service: string) => Promise<Omit<ServiceControl, 'service'>>;

const refuse = (why: string) => async () => {
  throw failure('not-controllable', why);
};

const fixed = (runner: string, why: string): ControlOf => async () => ({ runner, installed: true, fixed: why, sharedWith: [], start: refuse(why), stop: refuse(why) });

/** The web front end: platformd's own nginx serves http and https together. */
const webFrontEnd: ControlOf = async (runtime, service) => {
  const web = runtime.services.web;
  return {
    runner: 'nginx',
    installed: Boolean(web),
    sharedWith: ['http', 'https'].filter((s) => s !== service),
    async start() {
      if (!web) throw failure('no-web', 'the web front end is not running in this daemon');
      if (web.nginx.running()) throw badInput('already-running', `${service} is already running (nginx)`);
      await web.start();
    },
    async stop() {
      if (!web) throw failure('no-web', 'the web front end is not running in this daemon');
      if (!web.nginx.running()) throw badInput('not-running', `${service} is not running (nginx)`);
      await web.nginx.stop();
    },
  };
};

/** Anything else: the service manager's app whose service it is. */
const managerApp = (manager: ServiceManager | undefined): ControlOf => async (_runtime, service) => {
  const app = manager?.apps().find((a) => a.service === service && (a.command?.length || a.unit));
  const installed = Boolean(app && manager && (await manager.state(app.name)) !== 'not installed');
  const missing = refuse(`${service} is not installed on this node`);
  if (!app || !manager || !installed) return { runner: app?.name ?? service, installed: false, sharedWith: [], start: missing, stop: missing };
  return { runner: app.name, installed, sharedWith: [], start: () => manager.start(app.name), stop: () => manager.stop(app.name) };
};

const RUNNERS: Record<string, ControlOf> = {
  ssh: fixed('sshd', 'sshd is how administrators reach this node: the console never stops or starts it'),
  cluster: fixed('platformd', "the cluster agent is platformd's own: it runs while platformd runs"),
  snmp: fixed('snmpd', 'snmpd runs while an SNMP community or user is set: see "snmp community add|del" and "snmp user add|del"'),
  http: webFrontEnd,
  https: webFrontEnd,
};

/** How `service` is run and controlled on this node. */
export async function controlOf(runtime: Runtime, service: string): Promise<ServiceControl> {
  const of = RUNNERS[service] ?? managerApp(runtime.services.apps);
  return { service, ...(await of(runtime, service)) };
}
