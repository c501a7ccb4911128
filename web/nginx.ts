// nginx, the web front end: its configuration generated from the config
// store (TLS, redirect, upstreams with weights), tested with `nginx -t`
// before any reload, and the process itself run with its own prefix under
// the home folder.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileInside } from '../os/files.js';
import { endChild, runProcess } from '../os/processes.js';
import { portOf } from '../catalog/derive.js';
import { effectiveRoles } from '../catalog/roles.js';
import { primaryAddress } from '../os/host.js';
import { readNode } from '../store/node.js';
import { hostPort as hostPortArg } from '../core/argtypes.js';
import { shown, type SkippedValue } from '../core/skipped.js';
import { portalStates, readDisabledPortals, type PortalName } from './portals.js';
import type { Store } from '../store/db.js';
import type { Paths } from '../core/paths.js';

// The TLS minimum is a setting of the store, whose table declares its values.
import type { TlsMinimum } from '../store/settings.js';

/** Weight of a backend nobody set a weight for. */
export const DEFAULT_WEIGHT = 1;
/** The highest weight `web weight add` sets, and the generator accepts. */
export const MAX_WEIGHT = 100;

export interface Backend {
  server: string;
  weight: number;
}

const hostPort = (address: string, port: number) => `${address.includes(':') ? `[${address}]` : address}:${port}`;

/**
 * Application backends: the cluster's other application nodes, reached on
 * the catalog's https port (never this node itself: its nginx would proxy
 * to itself), plus any backend given a weight by hand.
 */
export function backends(store: Store): Backend[] {
  const selfAddress = readNode(store)?.ip ?? primaryAddress(); // as the cluster knows this node
  const weights = new Map(store.weights.list().map((w) => [w.server, w.weight]));
  const others = store.inventory.list().filter((n) => n.address !== selfAddress);
  const servers = new Set<string>(weights.keys());
  for (const node of others) {
    if (effectiveRoles(node.roles).has('application')) servers.add(hostPort(node.address, portOf('https')));
  }
  return [...servers].sort().map((server) => ({ server, weight: weights.get(server) ?? DEFAULT_WEIGHT }));
}

export interface NginxLayout {
  prefix: string;
  conf: string;
  pid: string;
}

export function nginxLayout(paths: Paths): NginxLayout {
  const prefix = join(paths.etc, 'nginx');
  return { prefix, conf: join(prefix, 'nginx.conf'), pid: join(paths.run, 'nginx.pid') };
}

export interface NginxSettings {
  httpsPort: number;
  httpPort: number;
  tlsMinimum: TlsMinimum;
  certificate: string;
  key: string;
  backends: Backend[];
  /** The web services (portals) whose URLs redirect to an enabled one. */
  disabledPortals: PortalName[];
}

export function settingsFrom(store: Store, paths: Paths, ports: { https: number; http: number }): NginxSettings {
  return {
    httpsPort: ports.https,
    httpPort: ports.http,
    tlsMinimum: store.settings.get('web.tlsMinimum'),
    certificate: paths.webCertificate,
    key: paths.webKey,
    backends: backends(store),
    disabledPortals: readDisabledPortals(store),
  };
}

const PROTOCOLS: Record<TlsMinimum, string> = { '1.2': 'TLSv1.2 TLSv1.3', '1.3': 'TLSv1.3' };
/** What a stored minimum nginx cannot take becomes: the setting's default. */
const DEFAULT_TLS_MINIMUM: TlsMinimum = '1.2';

/**
 * Whether weight-0 backends are nginx backups: only while some backend has a
 * weight above 0. The seed's 0 is "used only if no other server is
 * available"; with weight-0 backends alone none other is, so they serve, in
 * turn (nginx also refuses an upstream of backups only).
 */
export function zeroIsBackup(list: readonly Backend[]): boolean {
  return list.some((b) => b.weight > 0);
}

function upstreamServer(b: Backend, backups: boolean): string {
  const weight = b.weight > 0 ? ` weight=${b.weight}` : backups ? ' backup' : '';
  return `    server ${b.server}${weight} max_fails=1 fail_timeout=5s;`;
}

/**
 * The backends nginx may be given, each checked again as it is written (the
 * store's rows come from `web weight add`, but also from a restore or a hand
 * edit): a server is host:port as the command takes it, a weight a whole
 * number 0..MAX_WEIGHT. Anything else is left out and reported.
 */
export function checkedBackends(list: readonly Backend[]): { backends: Backend[]; skipped: SkippedValue[] } {
  const accepted = new Map<string, Backend>();
  const skipped: SkippedValue[] = [];
  for (const b of list) {
    let server: string;
    try {
      server = hostPortArg().parse(String(b.server));
    } catch {
      skipped.push({ what: 'upstream server', value: shown(b.server), why: 'not host:port' });
      continue;
    }
    if (!Number.isInteger(b.weight) || b.weight < 0 || b.weight > MAX_WEIGHT) {
      skipped.push({ what: `weight of ${server}`, value: shown(b.weight), why: `not a whole number 0..${MAX_WEIGHT}` });
      continue;
    }
    accepted.set(server, { server, weight: b.weight });
  }
  return { backends: [...accepted.values()], skipped };
}

/** nginx's configuration for these settings, and the stored values it left out. */
export function nginxConfig(paths: Paths, s: NginxSettings): { text: string; skipped: SkippedValue[] } {
  const layout = nginxLayout(paths);
  const { backends: servers, skipped } = checkedBackends(s.backends);
  let tlsMinimum = s.tlsMinimum;
  if (!Object.hasOwn(PROTOCOLS, tlsMinimum)) {
    skipped.push({ what: 'TLS minimum', value: shown(tlsMinimum), why: `not one of ${Object.keys(PROTOCOLS).join(', ')}; ${DEFAULT_TLS_MINIMUM} is used` });
    tlsMinimum = DEFAULT_TLS_MINIMUM;
  }
  const backups = zeroIsBackup(servers);
  const upstream = servers.map((b) => upstreamServer(b, backups));
  const serve = upstream.length
    ? ['      proxy_pass https://application;', '      proxy_ssl_verify off;', '      proxy_next_upstream error timeout http_502 http_503;', '      proxy_connect_timeout 2s;', '      proxy_set_header Host $host;', '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;']
    : ['      default_type text/plain;', '      return 503 "no application backend is configured\\n";'];
  // 302, not 301: browsers keep a 301 after the service is enabled again.
  const locations = portalStates(s.disabledPortals).flatMap((p) => [
    `    location ${p.location} {`,
    ...(p.enabled || !p.redirectTo ? serve : [`      return 302 https://$host:${s.httpsPort}${p.redirectTo.home};`]),
    '    }',
  ]);
  const temp = (name: string) => `  ${name}_temp_path ${join(layout.prefix, 'temp', name)};`;
  const text = [
    '# Generated by platformd from the config store; changes here are overwritten.',
    'worker_processes 1;',
    `pid ${layout.pid};`,
    `error_log ${join(paths.logs, 'nginx-error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  access_log ${join(paths.logs, 'nginx-access.log')};`,
    temp('client_body'),
    temp('proxy'),
    temp('fastcgi'),
    temp('uwsgi'),
    temp('scgi'),
    ...(upstream.length ? ['  upstream application {', ...upstream, '  }'] : []),
    '  server {',
    `    listen ${s.httpPort};`,
    `    listen [::]:${s.httpPort};`,
    `    return 301 https://$host:${s.httpsPort}$request_uri;`,
    '  }',
    '  server {',
    `    listen ${s.httpsPort} ssl;`,
    `    listen [::]:${s.httpsPort} ssl;`,
    `    ssl_certificate ${s.certificate};`,
    `    ssl_certificate_key ${s.key};`,
    `    ssl_protocols ${PROTOCOLS[tlsMinimum]};`,
    ...locations,
    '  }',
    '}',
    '',
  ].join('\n');
  return { text, skipped };
}

export class NginxError extends Error {}

/** How long a stop lets requests in progress finish before nginx is killed. */
const STOP_GRACE_MS = 1000;
/** How long a reload waits for the old workers to finish their connections. */
const RELOAD_WAIT_MS = 10_000;

/** The processes nginx's master has started (its workers); the master is single-threaded. */
function workerPids(master: number): number[] {
  try {
    return readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Runs nginx with the product's own prefix; every change is tested before it is loaded. */
export class Nginx {
  private child?: ChildProcess;
  readonly layout: NginxLayout;

  constructor(paths: Paths) {
    this.layout = nginxLayout(paths);
    for (const name of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(this.layout.prefix, 'temp', name), { recursive: true });
    // nginx's workers (not root) reach their temp folders through these; the daemon's umask is 077.
    for (const dir of [this.layout.prefix, join(this.layout.prefix, 'temp')]) chmodSync(dir, 0o755);
  }

  private args(...extra: string[]) {
    return ['-p', this.layout.prefix, '-c', this.layout.conf, ...extra];
  }

  /** `nginx -t` on a candidate configuration, without touching the live one (asynchronously: it takes ~50 ms). */
  async test(config: string): Promise<void> {
    const candidate = writeFileInside(dirname(this.layout.conf), `${basename(this.layout.conf)}.candidate`, config, 0o600);
    const result = await runProcess('nginx', ['-t', '-q', '-p', this.layout.prefix, '-c', candidate], { timeoutMs: 20_000 }).catch((error: Error) => {
      throw new NginxError(`nginx cannot be run: ${error.message}`);
    });
    if (result.status !== 0) throw new NginxError(`nginx refused the configuration: ${result.stderr.trim().split('\n').slice(-2).join('; ')}`);
  }

  /** Tests, writes and loads a configuration; the live one stays if the test fails. */
  async apply(config: string): Promise<void> {
    await this.test(config);
    const current = existsSync(this.layout.conf) ? readFileSync(this.layout.conf, 'utf8') : '';
    if (current !== config) writeFileInside(dirname(this.layout.conf), basename(this.layout.conf), config, 0o600);
    if (this.running()) await this.reload();
  }

  running(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /**
   * A daemon killed without stopping leaves its nginx running; the next
   * daemon on this home ends that one (it is ours: same prefix) and starts its own.
   * Runs once at start, before the daemon serves anyone: the short blocking wait is harmless there.
   */
  private endOrphan(): void {
    let pid: number;
    try {
      pid = Number(readFileSync(this.layout.pid, 'utf8').trim());
      if (!(pid > 0) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.layout.prefix)) return;
    } catch {
      return; // no pid file, or no such process
    }
    process.kill(pid, 'SIGQUIT');
    const deadline = Date.now() + 3000;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 50);
  }

  start(onExit: (code: number | null) => void): void {
    this.endOrphan();
    const child = spawn('nginx', this.args('-g', 'daemon off;'), { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', () => undefined);
    child.on('exit', (code) => {
      if (this.child === child) onExit(code);
    });
    this.child = child;
  }

  /**
   * Makes nginx read its configuration and certificates again, and resolves
   * once the workers that served before have exited (or after a bound): until
   * then an old worker may still accept a connection with the old certificate.
   */
  async reload(): Promise<void> {
    const master = this.child?.pid;
    if (master === undefined) return;
    const before = workerPids(master);
    this.child!.kill('SIGHUP');
    const deadline = Date.now() + RELOAD_WAIT_MS;
    while (before.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  }

  /** Graceful (SIGQUIT: requests in progress finish), but bounded: a request that does not finish in a second is cut. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) await endChild(child, 'SIGQUIT', STOP_GRACE_MS);
  }
}
