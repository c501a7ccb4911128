// platformd: the node daemon. Runs in the foreground; one per home folder.
//   platformd [--home DIR] [--firewall plan|apply] [--appliance]
//             [--web-port N] [--http-port N] [--cluster-port N] [--accounts-shell PATH]
//   platformd [--home DIR] --install-ssh     (writes sshd's drop-in and PAM service, then exits)
//   platformd --print-default-ruleset

import { appendFileSync, chmodSync, chownSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Store, StoreProblem } from '../store/db.js';
import { checkEvent, eventOf } from '../events/catalog.js';
import { openNodeStore, StoreRefused } from '../store/open-node.js';
import { redactSecrets } from '../net/uri.js';
import { APPLIANCE_HOME, pathsFor, resolveHome, type Paths } from '../core/paths.js';
import { closeConnections, consoleGroup, requestsInFlight, serveLocalApi } from './api.js';
import { STOP_LIMITS, stopBounded, type StopStep } from './shutdown.js';
import { runNonInteractive } from './execute.js';
import { groups } from '../commands/index.js';
import type { DaemonOptions, Runtime } from '../core/runtime.js';
import { notifyReady } from './readiness.js';
import { subsystems } from './subsystems.js';
import { issueTokens } from '../users/tokens.js';
import { recoverRestore } from '../backup/restore-journal.js';
import { ADMINISTRATORS } from '../users/rights.js';
import { parseFlags, FlagError } from '../shell/flags.js';
import { versionLine } from '../commands/version.js';
import { catalogPorts } from '../catalog/derive.js';
import { skippedEvent } from '../core/skipped.js';
import { checkOwnRelease, reportLastAttempt, writeReady } from '../releases/startup.js';

const USAGE =
  'usage: platformd [--home DIR] [--firewall plan|apply] [--appliance] [--web-port N] [--http-port N] [--cluster-port N] [--accounts-shell PATH]\n' +
  '       platformd [--home DIR] --install-ssh\n' +
  '       platformd --print-default-ruleset\n' +
  '       platformd --version | --help\n' +
  'Runs in the foreground; under systemd (Type=notify) it reports READY=1 once its API serves and the firewall is reconciled.';

/** The console as the appliance installs it: console users' login shell. */
const APPLIANCE_CONSOLE = '/usr/local/bin/platform';
/** Where an embedded (development) daemon serves the web front end: unprivileged, beside the catalog's web ports. */
const EMBEDDED_WEB_PORTS = { https: 9443, http: 9080 };

function options(argv: string[]): DaemonOptions & { installSsh: boolean } {
  const flags = parseFlags(argv, {
    home: 'value',
    firewall: 'value',
    appliance: 'flag',
    'web-port': 'value',
    'http-port': 'value',
    'cluster-port': 'value',
    'accounts-shell': 'value',
    'install-ssh': 'flag',
    help: 'flag',
    version: 'flag',
  });
  if (flags.flags.help || flags.rest[0] === '-h') {
    console.log(USAGE);
    process.exit(0);
  }
  if (flags.flags.version) {
    console.log(versionLine('platformd'));
    process.exit(0);
  }

  if (flags.rest.length > 0) throw new FlagError(`unexpected "${flags.rest[0]}"`);
  const home = resolveHome(flags.values.home);
  const appliance = flags.flags.appliance === true || home === APPLIANCE_HOME;
  const firewall = flags.values.firewall ?? 'plan';
  if (firewall !== 'plan' && firewall !== 'apply') throw new FlagError(`--firewall must be plan or apply, not "${firewall}"`);
  const port = (name: string, applianceDefault: number, embeddedDefault: number) => {
    const text = flags.values[name];
    if (text === undefined) return appliance ? applianceDefault : embeddedDefault;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new FlagError(`--${name} must be a port number 1..65535, not "${text}"`);
    return n;
  };
  const onAppliance = catalogPorts();
  const accountsShell = flags.values['accounts-shell'] ?? (appliance ? APPLIANCE_CONSOLE : undefined);
  if (accountsShell !== undefined && !accountsShell.startsWith('/')) throw new FlagError(`--accounts-shell must be an absolute path, not "${accountsShell}"`);
  return {
    home,
    firewall,
    appliance,
    // An appliance uses the catalog's ports; an embedded (development) daemon moves the web front end off the privileged ones.
    clusterPort: port('cluster-port', onAppliance.clusterPort, onAppliance.clusterPort),
    webPorts: { https: port('web-port', onAppliance.webPorts.https, EMBEDDED_WEB_PORTS.https), http: port('http-port', onAppliance.webPorts.http, EMBEDDED_WEB_PORTS.http) },
    accountsShell,
    installSsh: flags.flags['install-ssh'] === true,
  };
}

/** `--install-ssh`: what an image build runs once, and platformd again at every start on an appliance. */
async function installSsh(appliance: boolean, paths: Paths): Promise<void> {
  if (!appliance && process.env.PLATFORM_OS_ROOT === undefined) {
    console.error("platformd: --install-ssh rewrites this machine's sshd and PAM configuration: only on an appliance (--appliance), or into PLATFORM_OS_ROOT");
    process.exit(2);
  }
  const { installOpenSsh } = await import('../ssh/openssh.js');
  try {
    const { written, skipped } = installOpenSsh(paths);
    console.log(written.length ? `wrote ${written.join(', ')}` : 'sshd and PAM are already configured');
    if (skipped.length) console.error(`platformd: ${skippedEvent('sshd', skipped).text}`);
  } catch (error) {
    console.error(`platformd: ${(error as Error).message}`);
    process.exit(1);
  }
}

/** Takes the home's pid file, or explains who holds it. */
function lock(paths: Paths): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(paths.pidFile, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(paths.pidFile, 'utf8').trim());
      if (pid > 0 && isAlive(pid)) {
        console.error(`platformd: already running for ${paths.home} (pid ${pid}); stop it first or use another --home`);
        process.exit(1);
      }
      rmSync(paths.pidFile, { force: true }); // left by a daemon that died
    }
  }
  throw new Error(`cannot take ${paths.pidFile}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Tells whoever listens that the node runs in its recovery state: the events bus when it runs, else the store's event log alone. */
function raiseStoreInvalid(runtime: Runtime): void {
  const { table, problem } = runtime.storeInvalid!;
  const event = eventOf('store-invalid', `STORE INVALID: ${table}: ${problem}; recovery commands only (backup restore)`);
  try {
    if (!runtime.services.events) throw new Error('the events subsystem is not running');
    runtime.services.events.raise(event);
  } catch (error) {
    // The bus reads targets and settings of the invalid store: record the event alone, without notifications.
    runtime.log('error', `store-invalid: ${event.text} (not notified: ${(error as Error).message})`);
    try {
      runtime.store.events.record(checkEvent(event), [], false);
    } catch (recordError) {
      runtime.log('error', `the store-invalid event was not recorded: ${(recordError as Error).message}`);
    }
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--print-default-ruleset') {
    // For the boot unit when no last good ruleset exists yet.
    const { defaultRuleset } = await import('../firewall/compiler.js');
    process.stdout.write(defaultRuleset());
    return;
  }
  let opts: ReturnType<typeof options>;
  try {
    opts = options(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    console.error(`platformd: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  const paths = pathsFor(opts.home);
  if (opts.installSsh) return installSsh(opts.appliance, paths);
  // Everything platformd makes is its own (the store, keys, generated files)
  // unless it says otherwise: a file meant for others gets its mode explicitly.
  process.umask(0o077);
  for (const dir of [paths.home, paths.run, paths.logs, paths.certs, paths.etc, paths.firewall]) mkdirSync(dir, { recursive: true });
  // Console users reach the socket under run/; nginx's workers reach their temp folders under etc/.
  for (const dir of [paths.run, paths.etc]) chmodSync(dir, 0o755);
  mkdirSync(paths.media, { recursive: true, mode: 0o755 });
  chmodSync(paths.media, 0o755);
  // Console users upload into media (scp, sftp): their group may write there.
  const group = consoleGroup();
  if (group !== undefined) {
    chownSync(paths.media, process.getuid?.() ?? 0, group);
    chmodSync(paths.media, 0o2775);
  }
  lock(paths);

  const logFile = `${paths.logs}/platformd.log`;
  // On an appliance stderr goes to the journal, which reads sd-daemon priority prefixes (<3> err, <4> warning, <6> info).
  const priority = { error: '<3>', warn: '<4>', info: '<6>' } as const;
  // Whoever read stderr may go (a parent that died, a closed pipe): its EPIPE
  // must not become an uncaught error logged to stderr again, in a loop that
  // fills the log and starves everything else, stopping included.
  let stderrOpen = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => (stderrOpen = stream === process.stderr ? false : stderrOpen));
  const log: Runtime['log'] = (level, message) => {
    const line = `${new Date().toISOString()} ${level} ${redactSecrets(message)}`;
    if (stderrOpen) process.stderr.write((opts.appliance ? priority[level] : '') + line + '\n');
    try {
      appendFileSync(logFile, line + '\n');
    } catch {
      // Logging must never stop the daemon.
    }
  };

  // The last resort, installed before anything that can fail. A daemon keeps the node's firewall and every
  // session: a stray failure is logged with the requests being served, and it serves on.
  const lastResort = (kind: string) => (error: unknown) => {
    const serving = requestsInFlight.size ? ` while serving ${[...requestsInFlight].map((r) => `"${r.name}"`).join(', ')}` : '';
    log('error', `${kind}${serving}: ${(error as Error)?.stack ?? error}`);
  };
  process.on('uncaughtException', lastResort('uncaught exception'));
  process.on('unhandledRejection', lastResort('unhandled rejection'));

  // Verified on load: a release whose files differ from its signed manifest does not run.
  const release = await checkOwnRelease();
  if (!release.ok) {
    log('error', `platformd does not start: ${release.message}`);
    console.error(`platformd: ${release.message}`);
    rmSync(paths.pidFile, { force: true });
    process.exit(1);
  }
  log('info', release.detail);

  let store: Store;
  let storeInvalid: StoreProblem | undefined;
  try {
    let removed: string[];
    ({ store, invalid: storeInvalid, removed } = openNodeStore(paths));
    if (removed.length) log('error', `removed from the config store what this product never writes (it would run on the node's own writes): ${removed.join(', ')}`);
  } catch (error) {
    if (!(error instanceof StoreRefused)) throw error;
    log('error', `platformd does not start: ${error.message.split('\n')[0]}`);
    console.error(`platformd: ${error.message}`);
    rmSync(paths.pidFile, { force: true });
    process.exit(1);
  }
  // A restore a killed daemon left half-way is finished or undone before anything reads the trees.
  try {
    for (const line of recoverRestore(paths, store)) log('warn', line);
  } catch (error) {
    log('error', `platformd does not start: an interrupted restore could not be recovered: ${(error as Error).message}`);
    console.error(`platformd: an interrupted restore could not be recovered: ${(error as Error).message}`);
    rmSync(paths.pidFile, { force: true });
    process.exit(1);
  }
  if (storeInvalid) log('error', `the config store is invalid (${storeInvalid.table}: ${storeInvalid.problem}): starting in the recovery state, recovery commands only`);
  // Console users prove who they are with a token only they can read; a store that fails its checks still lets the administrators in.
  let users: string[] = [];
  try {
    users = store.users.names();
  } catch (error) {
    log('error', `console users other than the administrators get no token: ${(error as Error).message}`);
  }
  await issueTokens(paths, [...ADMINISTRATORS, ...users], (message) => log('warn', message)).catch((error: Error) => log('error', `tokens not issued: ${error.message}`));
  store.settings.set('daemon', { appliance: opts.appliance, firewall: opts.firewall, webPorts: opts.webPorts, clusterPort: opts.clusterPort });
  const runtime: Runtime = { store, paths, options: opts, services: {}, log, storeInvalid };
  // Subsystems and commands reach the executor and the tree through the registry, never by importing them (cluster run, user grant).
  runtime.services.execute = (words, caller) => runNonInteractive(runtime, words, caller);
  runtime.services.commands = { groups };
  const stops: StopStep[] = [];
  let server: Server | undefined;

  let stopping = false;
  /** Bounded, whatever runs (daemon/shutdown.ts); a start that failed exits 1. */
  const shutdown = async (signal: string, exitStatus: 0 | 1 = 0) => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: stopping`);
    server?.close();
    const steps: StopStep[] = [
      {
        name: 'requests',
        async stop() {
          const running = await closeConnections(STOP_LIMITS.requestsMs);
          if (running.length) log('error', `stopping: requests still running after ${STOP_LIMITS.requestsMs / 1000} s, their connections cut: ${running.map((r) => `"${r}"`).join(', ')}`);
        },
        deadlineMs: STOP_LIMITS.requestsMs + 100,
      },
      ...stops.reverse(),
      // Closing the store checkpoints its WAL into config.db: the last step, once nothing writes.
      { name: 'store', stop: () => store.close() },
    ];
    await stopBounded(steps, {
      log,
      exit(status) {
        try {
          store.close(); // again, when the deadline cut the steps short (closing twice is harmless)
        } catch {
          // a step still running may hold it; exiting closes it anyway
        }
        rmSync(paths.socket, { force: true });
        rmSync(paths.pidFile, { force: true });
        process.exit(Math.max(status, exitStatus));
      },
    });
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    for (const load of subsystems) {
      const subsystem = await load();
      let stop: (() => Promise<void>) | void;
      try {
        stop = await subsystem.start(runtime);
      } catch (error) {
        // In the recovery state what cannot start over the invalid store stays stopped; the node still serves recovery commands.
        if (!runtime.storeInvalid) throw error;
        log('error', `${subsystem.name} not started (recovery state): ${(error as Error).message}`);
        continue;
      }
      if (stop) stops.push({ name: subsystem.name, stop });
      log('info', `${subsystem.name} started`);
    }
    server = await serveLocalApi(runtime);
  } catch (error) {
    log('error', `start failed: ${(error as Error).stack ?? error}`);
    await shutdown('start failure', 1);
  }
  if (runtime.storeInvalid) raiseStoreInvalid(runtime);
  try {
    reportLastAttempt(store, runtime.services.events && ((event) => runtime.services.events!.raise(event)), log);
  } catch (error) {
    log('error', `the last upgrade's result was not recorded: ${(error as Error).message}`);
  }
  log('info', `platformd ${process.pid} serving ${paths.socket} (firewall ${opts.firewall}${opts.appliance ? ', appliance' : ''})`);
  // Ready once the firewall also holds what the subsystems now listen on.
  const firewall = await runtime.services.firewall?.reconcile();
  const status = firewall ? (firewall.applied ? 'serving; firewall applied' : `serving; firewall not applied: ${firewall.reason}`) : 'serving';
  await notifyReady(status, log);
  writeReady(paths.run, status);
}

// What main could not handle stops platformd with status 1 and says why (never a silent exit 0).
main().catch((error: Error) => {
  console.error(`platformd: ${error?.stack ?? error}`);
  process.exit(1);
});
