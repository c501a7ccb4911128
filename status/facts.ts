// Gathers the banner's facts from the host and the config store. Every value
// is read, never assumed: load, uptime and addresses from the kernel, the
// certificate's dates from the file nginx serves, disk space from statfs.

import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statfsSync, readdirSync, lstatSync } from 'node:fs';
import { availableParallelism, hostname as osHostname, loadavg, uptime } from 'node:os';
import { join } from 'node:path';
import { servicesFor } from '../catalog/derive.js';
import { effectiveRoles, type RoleName } from '../catalog/roles.js';
import { osRoot, primaryAddress } from '../os/host.js';
import type { Services } from '../core/context.js';
import type { Store } from '../store/db.js';
import { nodeOrDefault } from '../store/node.js';
import type { Paths } from '../core/paths.js';
import { loginFailures, faillockDir } from '../ssh/accounts.js';
import type { StatusFacts } from './conditions.js';
import { configuredProductRoot, readJson } from '../releases/layout.js';
import { escapeControls } from '../core/escape.js';
import { isSelfSigned, networkNameMismatch, networkNames } from '../certs/validate.js';

declare module '../core/context.js' {
  interface Services {
    /** Names of the node's applications that should run but do not (service manager). */
    applicationDown?: () => Promise<string[]> | string[];
    /** Whether something is installed to run a catalog service (service manager); a service not installed is not down. */
    serviceInstalled?: (service: string) => Promise<boolean>;
  }
}

/** Free-space thresholds below which the banner warns, as on the reference appliance. */
const DISK_THRESHOLDS = [
  { mount: '/', minFreePercent: 30 },
  { mount: 'home', minFreePercent: 30 },
  { mount: '/var/log', minFreePercent: 10 },
] as const;

/** A value read from the store, or `fallback` when the store fails its checks: the banner of a node in its recovery state still shows. */
function orElse<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** What the last check of a release at start found wrong, until someone installs a good one (releases/). */
function verificationFailure(): string | undefined {
  const product = configuredProductRoot();
  const text = product && readJson<{ text?: unknown }>(product.verificationFailed)?.text;
  return typeof text === 'string' ? escapeControls(text.slice(0, 200)) : undefined;
}

export async function gatherFacts(store: Store, paths: Paths, services: Services): Promise<StatusFacts> {
  const node = orElse(() => nodeOrDefault(store, osHostname()), { hostname: osHostname(), roles: [], ntp: [], dns: [], dataCentre: 'default', maintenance: false });
  const roles = effectiveRoles(node.roles);
  const runsApplication = roles.has('application') || roles.has('webproxy');
  const notInstalled = await servicesNotInstalled(node.roles, services);
  return {
    hostname: node.hostname,
    roles: node.roles,
    load: loadavg()[0] ?? 0,
    cpus: availableParallelism(),
    uptime: uptime(),
    utcOffsetMinutes: -new Date().getTimezoneOffset(),
    address: node.ip ?? primaryAddress() ?? 'no address',
    ntp: node.ntp,
    healthMonitored: orElse(() => store.settings.get('health.monitoring'), false),
    healthProblems: orElse(() => store.settings.get('health.last')?.problems ?? [], []),
    // No database folder (and no service manager to ask, without the daemon): no size to show, rather than "0b".
    databaseBytes: roles.has('database') && !notInstalled.includes('database') && existsSync(join(paths.home, 'database')) ? directorySize(join(paths.home, 'database')) : undefined,
    applicationDown: runsApplication ? ((await services.applicationDown?.()) ?? []).filter((s) => !notInstalled.includes(s)) : undefined,
    notInstalled,
    certificate: readCertificateDates(paths.webCertificate),
    webCertNameMismatch: caSignedNameMismatch(paths.webCertificate, networkNames(node)),
    maintenance: node.maintenance,
    lowDisk: lowDisk(paths.home),
    memoryAvailablePercent: memoryAvailablePercent(),
    lockedAccounts: lockedAccounts(paths),
    unreadMail: store.mailbox.unread(),
    securityUpdates: orElse(() => store.settings.get('security.lastCheck')?.updates.length ?? 0, 0),
    rebootRequired: existsSync(join(osRoot(), 'run', 'reboot-required')),
    storeInvalid: orElse(() => store.firstProblem()?.table, 'store'),
    releaseVerificationFailed: verificationFailure(),
  };
}

/** The services of the node's roles nothing is installed to run (none known without the daemon's service manager). */
async function servicesNotInstalled(roles: readonly RoleName[], services: Services): Promise<string[]> {
  const installed = services.serviceInstalled;
  if (!installed) return [];
  const names = servicesFor(roles).map((s) => s.name);
  const flags = await Promise.all(names.map((name) => installed(name)));
  return names.filter((_, i) => !flags[i]);
}

export function readCertificateDates(file: string): { notBefore: Date; notAfter: Date } | undefined {
  try {
    const cert = new X509Certificate(readFileSync(file));
    return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
  } catch {
    return undefined;
  }
}

/**
 * The node's network name when the CA-signed certificate in service does not
 * cover it (after a host name change). A self-signed one is never trusted by
 * browsers anyway: `network hostname` says how to renew it, the banner does not.
 */
function caSignedNameMismatch(file: string, names: string[]): string | undefined {
  try {
    const cert = new X509Certificate(readFileSync(file));
    return !isSelfSigned(cert) && networkNameMismatch(cert, names) ? names[names.length - 1] : undefined;
  } catch {
    return undefined;
  }
}

/** The mounts below their free-space threshold (the banner's LOW DISK SPACE lines). */
export function lowDisk(home: string): { mount: string; freePercent: number }[] {
  const out: { mount: string; freePercent: number }[] = [];
  for (const { mount, minFreePercent } of DISK_THRESHOLDS) {
    const path = mount === 'home' ? home : mount;
    try {
      const stats = statfsSync(path);
      const freePercent = Math.floor((stats.bavail / stats.blocks) * 100);
      if (freePercent < minFreePercent) out.push({ mount: path, freePercent });
    } catch {
      // A mount point this host doesn't have has nothing to warn about.
    }
  }
  return out;
}

/** MemAvailable / MemTotal from the kernel (what can be used without swapping). */
export function memoryAvailablePercent(): number | undefined {
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1]);
    const total = field('MemTotal');
    const available = field('MemAvailable');
    return total > 0 && Number.isFinite(available) ? Math.floor((available / total) * 100) : undefined;
  } catch {
    return undefined;
  }
}

/** Console accounts pam_faillock holds locked now (its records are per user, under the home's run folder). */
function lockedAccounts(paths: Paths): { user: string; until: Date }[] {
  let users: string[];
  try {
    users = readdirSync(faillockDir(paths));
  } catch {
    return [];
  }
  const out: { user: string; until: Date }[] = [];
  for (const user of users) {
    const { lockedUntil } = loginFailures(faillockDir(paths), user);
    if (lockedUntil) out.push({ user, until: lockedUntil });
  }
  return out;
}

function directorySize(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    const stat = lstatSync(path);
    total += stat.isDirectory() ? directorySize(path) : stat.size;
  }
  return total;
}
