// What every subsystem of platformd gets at start: the store, the paths, the
// daemon's options, a logger, and the shared `services` registry through
// which commands reach subsystems.

import type { Caller, Services } from './context.js';
import type { Paths } from './paths.js';
import type { FinalAnswer } from './protocol.js';

/** Runs words as a command for a caller that cannot answer questions; the daemon registers it, `cluster run` uses it on each member. */
export type Executor = (words: string[], caller: Caller) => Promise<FinalAnswer>;

declare module './context.js' {
  interface Services {
    execute?: Executor;
  }
}

export interface DaemonOptions {
  home: string;
  /** `apply` writes the ruleset to the kernel; `plan` only computes and shows it. */
  firewall: 'plan' | 'apply';
  /** True on a real appliance (/opt/platform): system config files are written too. */
  appliance: boolean;
  /** The port of the cluster agent (8443 on an appliance). */
  clusterPort: number;
  /** HTTPS and HTTP ports of the web front end (443/80 on an appliance). */
  webPorts: { https: number; http: number };
  /** When set, console users are operating-system accounts with this login shell (the console). */
  accountsShell?: string;
}

/** What a subsystem is handed; store/db.ts adds its `store` member (module augmentation). */
export interface Runtime {
  paths: Paths;
  options: DaemonOptions;
  services: Services;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface Subsystem {
  name: string;
  /** Starts the subsystem; the returned function stops it (reverse order at shutdown). */
  start(runtime: Runtime): Promise<(() => Promise<void>) | void>;
}
