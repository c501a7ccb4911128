// The node's settings: one table of every key the store keeps, with the type
// of its value, its shape (grammars and ranges), its default and whether it
// is sealed at rest. A key that is not in SETTINGS cannot be read or written,
// a value of the wrong type does not compile, and a value that does not fit
// its shape is refused when written and when read back (a restored store, a
// hand-edited one): a PlatformError naming the key, never a crash. Values are
// JSON in the `settings` table (migration 1).
// A worker thread loads this module too (see store/shapes.ts): erasable syntax only.

import * as z from 'zod/mini';
import type { DaemonOptions } from '../core/runtime.js';
import { SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS } from '../core/snmp-protocols.js';
import { ROLE_NAMES, type RoleName } from '../catalog/roles.js';
import { PRODUCT_VERSION_SHAPE } from '../core/version.js';
import type { Connection } from './connection.js';
import { COMPONENT, PACKAGE_VERSION, PACKAGE_WITH_ARCH, SUITE, aptValueProblem } from '../core/apt-grammar.js';
import { address, addressWithPrefix, interfaceName, eventLevel, host, invalidStore, type EventLevel, hostname, hostPort, isoTime, label, line, network, port, problemOf, sealedText, uri, whole } from './shapes.js';

// ---------------------------------------------------------------------------
// The shapes of structured values. They are declared here, below the floors
// that use them, so that the table can name them; those floors re-export them.

/** The node's identity and basic settings (store/node.ts reads and writes them). */
export interface NodeSettings {
  hostname: string;
  roles: RoleName[];
  /** The address the node is known by in the cluster; detected when unset. */
  ip?: string;
  domain?: string;
  ntp: string[];
  dns: string[];
  dataCentre: string;
  maintenance: boolean;
}

/** Connection rate limits of the firewall (firewall/compiler.ts holds the defaults and ranges). */
export interface Limits {
  /** New connections per second one source may open to public ports. */
  publicPerSecond: number;
  publicBurst: number;
  /** New SSH (and other management) connections per minute one source may open. */
  managementPerMinute: number;
  managementBurst: number;
  /** ICMP echo requests per second, all sources together. */
  pingPerSecond: number;
}

/** The ranges of the limits; values outside are refused (firewall/compiler.ts holds the defaults). */
export const LIMIT_RANGES: Record<keyof Limits, readonly [number, number]> = {
  publicPerSecond: [1, 100_000],
  publicBurst: [1, 1_000_000],
  managementPerMinute: [1, 10_000],
  managementBurst: [1, 10_000],
  pingPerSecond: [1, 10_000],
};

/** Health-monitoring thresholds (health/checks.ts holds the defaults). */
export interface Thresholds {
  rootFreePercent: number;
  dataFreePercent: number;
  logsFreePercent: number;
  memoryFreePercent: number;
  /** One-minute load per CPU above which the node is overloaded. */
  loadPerCpu: number;
}

/** The ranges of the thresholds (`system health_monitoring threshold`). */
export const THRESHOLD_RANGES: Record<keyof Thresholds, readonly [number, number]> = {
  rootFreePercent: [1, 99],
  dataFreePercent: [1, 99],
  logsFreePercent: [1, 99],
  memoryFreePercent: [1, 99],
  loadPerCpu: [1, 100],
};

export interface HealthCheck {
  check: string;
  value: string;
  limit: string;
  /** Set when the check fails: what the banner says, in words. */
  problem?: string;
}

export interface HealthResult {
  at: string;
  checks: HealthCheck[];
  problems: string[];
}

/** The subject details kept in the config system (`web cert details`). */
export interface CertDetails {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  locality?: string;
  state?: string;
  country?: string;
  email?: string;
  /** Extra DNS names and addresses for subjectAltName (the node's own are always added). */
  altNames: string[];
}

export const TLS_MINIMUMS = ['1.2', '1.3'] as const;
export type TlsMinimum = (typeof TLS_MINIMUMS)[number];

export interface Community {
  name: string;
  /** An address or network (CIDR) allowed to use it; absent: any management source the firewall lets in. */
  source?: string;
}

export interface V3User {
  name: string;
  auth: (typeof SNMP_AUTH_PROTOCOLS)[number];
  priv: (typeof SNMP_PRIV_PROTOCOLS)[number] | 'none';
}

export interface SnmpSettings {
  communities: Community[];
  users: V3User[];
  location?: string;
  contact?: string;
}

/** A condition of the node that holds (events/monitor.ts). */
export interface ActiveCondition {
  key: string;
  name: string;
  level: EventLevel;
  text: string;
}

/** How long `cluster prepnode` keeps a node joinable. */
export const JOIN_WINDOW_MINUTES = 15;

/** The window in which `cluster prepnode` lets a primary join this node, and the code it must prove. */
export interface JoinWindow {
  code: string;
  until: string;
}

/** The versions a node of the cluster last named in an answer to this one (cluster/protocol-version.ts). */
export interface HeardVersions {
  address: string;
  protocol: number;
  product: string;
}

/** What `cluster upgrade` did to one node in its last run (cluster/upgrade.ts). */
export const CLUSTER_UPGRADE_NODE_STATES = ['not reached', 'upgrading', 'switching', 'upgraded', 'skipped', 'failed'] as const;
export interface ClusterUpgradeNode {
  address: string;
  hostname: string;
  state: (typeof CLUSTER_UPGRADE_NODE_STATES)[number];
  /** The product version it last named. */
  version: string | null;
  reason: string | null;
}

/** The last `cluster upgrade` run, kept on the primary. */
export interface ClusterUpgradeRun {
  release: string;
  mode: 'serial' | 'fast';
  startedAt: string;
  endedAt: string | null;
  result: 'running' | 'switching' | 'upgraded' | 'failed';
  /** The node the run stopped at, and why. */
  stoppedAt: string | null;
  reason: string | null;
  nodes: ClusterUpgradeNode[];
}

/** Where the node's OS security updates come from (updates/source.ts): an apt repository and the key that signs it. */
export interface UpdateSource {
  /** http://, https:// or file:// (a repository on media). */
  uri: string;
  suite: string;
  components: string[];
  /** The signing key(s), an OpenPGP keyring as gpg exports it (base64). */
  key: string;
  /** The keys' fingerprints, as gpg printed them when the key was checked. */
  fingerprints: string[];
}

/** An update the last `security check` found: the package, its installed and its candidate version. */
export interface PendingUpdate {
  package: string;
  installed: string;
  candidate: string;
}

/** The last `security check`: when, against which source, what was pending. */
export interface UpdateCheck {
  at: string;
  source: string;
  updates: PendingUpdate[];
}

/** One interface's static networking (`network interface`): DHCP, or its addresses, at most one per family, each with an optional gateway. */
export interface InterfaceSettings {
  name: string;
  dhcp: boolean;
  addresses: { cidr: string; gateway?: string }[];
}

/** A static route (`network route add`): a destination network through a gateway on a configured network. */
export interface RouteSettings {
  destination: string;
  gateway: string;
}

/** The node's static networking as kept in the store; net/static-network.ts writes systemd-networkd's files from it. */
export interface StaticNetwork {
  interfaces: InterfaceSettings[];
  routes: RouteSettings[];
}

/** A static networking change awaiting `network confirm`: what it replaced, put back if the daemon restarts first. */
export interface PendingStaticNetwork {
  previous: StaticNetwork;
  description: string;
  rollsBackAt: string;
}

export const MAX_STATIC_INTERFACES = 32;
export const MAX_STATIC_ROUTES = 64;

/** How the running daemon was started: describes the process, not the node's configuration. */
export type DaemonFacts = Pick<DaemonOptions, 'appliance' | 'firewall' | 'webPorts' | 'clusterPort'>;

// ---------------------------------------------------------------------------
// The shapes of the values: what a command may write is what may be read back.

const ranged = <K extends string>(ranges: Record<K, readonly [number, number]>) =>
  z.partial(z.strictObject(Object.fromEntries(Object.entries<readonly [number, number]>(ranges).map(([key, [min, max]]) => [key, whole(min, max)])) as unknown as Record<K, z.ZodMiniType<number>>));

const nodeShape = z.strictObject({
  hostname,
  roles: z.array(z.enum(ROLE_NAMES)).check(z.maxLength(ROLE_NAMES.length)),
  ip: z.optional(address),
  domain: z.optional(hostname),
  ntp: z.array(host).check(z.maxLength(16)),
  dns: z.array(address).check(z.maxLength(16)),
  dataCentre: label,
  maintenance: z.boolean(),
});

const staticNetworkShape = z.strictObject({
  interfaces: z
    .array(z.strictObject({ name: interfaceName, dhcp: z.boolean(), addresses: z.array(z.strictObject({ cidr: addressWithPrefix, gateway: z.optional(address) })).check(z.maxLength(2)) }))
    .check(z.maxLength(MAX_STATIC_INTERFACES)),
  routes: z.array(z.strictObject({ destination: addressWithPrefix, gateway: address })).check(z.maxLength(MAX_STATIC_ROUTES)),
});
const pendingStaticShape = z.strictObject({ previous: staticNetworkShape, description: line(200), rollsBackAt: isoTime });

const daemonShape = z.strictObject({
  appliance: z.boolean(),
  firewall: z.enum(['plan', 'apply']),
  webPorts: z.strictObject({ https: port, http: port }),
  clusterPort: port,
});

/** A join window ends at most JOIN_WINDOW_MINUTES after now (a minute of slack for the clock). */
const joinWindowShape = z.strictObject({
  code: z.string().check(z.regex(/^[0-9A-F]{5}-[0-9A-F]{5}$/, 'not a join code')),
  until: isoTime.check(z.refine((until) => Date.parse(until) <= Date.now() + (JOIN_WINDOW_MINUTES + 1) * 60_000, `ends more than ${JOIN_WINDOW_MINUTES} minutes from now`)),
});

const heardVersionsShape = z
  .array(z.strictObject({ address, protocol: whole(1, 9999), product: z.string().check(z.regex(PRODUCT_VERSION_SHAPE, 'not a product version')) }))
  .check(z.maxLength(1024));

const productVersion = z.string().check(z.regex(PRODUCT_VERSION_SHAPE, 'not a product version'));
const clusterUpgradeShape = z.strictObject({
  release: productVersion,
  mode: z.enum(['serial', 'fast']),
  startedAt: isoTime,
  endedAt: z.nullable(isoTime),
  result: z.enum(['running', 'switching', 'upgraded', 'failed']),
  stoppedAt: z.nullable(address),
  reason: z.nullable(line(1000)),
  nodes: z
    .array(z.strictObject({ address, hostname: line(253), state: z.enum(CLUSTER_UPGRADE_NODE_STATES), version: z.nullable(productVersion), reason: z.nullable(line(1000)) }))
    .check(z.maxLength(1024)),
});

const certDetailsShape = z.strictObject({
  commonName: line(256),
  organization: z.optional(line(256)),
  organizationalUnit: z.optional(line(256)),
  locality: z.optional(line(256)),
  state: z.optional(line(256)),
  country: z.optional(line(2)),
  email: z.optional(line(256)),
  altNames: z.array(line(253)).check(z.maxLength(100)),
});

/** What SNMP names and texts may hold (snmp/config.ts writes them into snmpd.conf). */
const snmpName = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/, 'not an SNMP name'));
const snmpText = line(255).check(z.regex(/^[^"\\]*$/, 'holds a quote or a backslash'));
const snmpShape = z.partial(
  z.strictObject({
    communities: z.array(z.strictObject({ name: snmpName, source: z.optional(network) })).check(z.maxLength(100)),
    users: z.array(z.strictObject({ name: snmpName, auth: z.enum(SNMP_AUTH_PROTOCOLS), priv: z.enum([...SNMP_PRIV_PROTOCOLS, 'none']) })).check(z.maxLength(100)),
    location: snmpText,
    contact: snmpText,
  }),
);

const healthShape = z.strictObject({
  at: isoTime,
  checks: z.array(z.strictObject({ check: line(256), value: line(256), limit: line(256), problem: z.optional(line(256)) })).check(z.maxLength(64)),
  problems: z.array(line(256)).check(z.maxLength(64)),
});

const eventName = z.string().check(z.regex(/^[a-z][a-z0-9-]{0,63}$/, 'not an event name'));
const conditionShape = z.strictObject({ key: line(512), name: eventName, level: eventLevel, text: line(1000) });

/** A proxy bypass entry (net/connector.ts parses what is typed): a host name, `.domain`, an address or a network. */
const bypassEntry = z.string().check(z.refine((v) => network.safeParse(v).success || host.safeParse(v.startsWith('.') ? v.slice(1) : v).success, 'not a host name, .domain, address or network'));

/** The restore that last committed (backup/restore-journal.ts): a UUID, the archive's name, when. */
const lastRestoreShape = z.strictObject({
  id: z.string().check(z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'not a restore id')),
  archive: line(255),
  at: isoTime,
});

/** `host`, `[v6]`, or either with `:port` (notify emailrelay). */
const relayShape = z.string().check(
  z.refine((v) => hostPort.safeParse(v).success || host.safeParse(v).success || (/^\[.*\]$/.test(v) && address.safeParse(v.slice(1, -1)).success), 'not host[:port]'),
);

/** The update source: the URI by the product's grammar and apt's, suite and components by theirs, the key as base64 of at most 64 KiB. */
const aptSafe = z.string().check(z.refine((v) => aptValueProblem(v) === undefined, 'not a value apt\'s configuration can carry'));
const updateSourceShape = z.strictObject({
  uri: uri(['http', 'https', 'file']).check(z.refine((v) => aptValueProblem(v) === undefined, 'not a URI apt\'s sources line can carry')),
  suite: z.string().check(z.regex(SUITE, 'not a suite')),
  components: z.array(z.string().check(z.regex(COMPONENT, 'not a component'))).check(z.minLength(1), z.maxLength(16)),
  key: z.string().check(z.maxLength(Math.ceil((64 * 1024) / 3) * 4), z.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'not base64')),
  fingerprints: z.array(z.string().check(z.regex(/^(?:[0-9A-F]{40}|[0-9A-F]{64})$/, 'not an OpenPGP fingerprint'))).check(z.minLength(1), z.maxLength(16)),
});
const pendingShape = z.strictObject({
  package: z.string().check(z.regex(PACKAGE_WITH_ARCH, 'not a package name')),
  installed: z.string().check(z.regex(PACKAGE_VERSION, 'not a package version')),
  candidate: z.string().check(z.regex(PACKAGE_VERSION, 'not a package version')),
});
const updateCheckShape = z.strictObject({ at: isoTime, source: aptSafe, updates: z.array(pendingShape).check(z.maxLength(10_000)) });

// ---------------------------------------------------------------------------
// The table.

interface Setting<T, Fallback extends T | undefined> {
  readonly summary: string;
  /** What a value must be (for a sealed setting: its clear text). */
  readonly shape: z.ZodMiniType;
  readonly fallback: Fallback;
  /** Sealed at rest with the store key (store/secrets.ts); read and written in clear through `settings`. */
  readonly sealed: boolean;
  /** Left as it is when a backup is restored (it describes this running daemon). */
  readonly keptOnRestore: boolean;
  /** Type only: never set. */
  readonly type?: T;
}

const plain = <T>(summary: string, shape: z.ZodMiniType<T>, options: { keptOnRestore?: boolean } = {}): Setting<T, undefined> => ({ summary, shape, fallback: undefined, sealed: false, keptOnRestore: options.keptOnRestore ?? false });
const withDefault = <T>(summary: string, shape: z.ZodMiniType<T>, fallback: T, options: { keptOnRestore?: boolean } = {}): Setting<T, T> => ({ summary, shape, fallback, sealed: false, keptOnRestore: options.keptOnRestore ?? false });
const sealed = (summary: string, shape: z.ZodMiniType<string>): Setting<string, undefined> => ({ summary, shape, fallback: undefined, sealed: true, keptOnRestore: false });

/** `firewall egress`: open lets everything out, strict only what the configuration needs (net/egress.ts). */
export const EGRESS_MODES = ['open', 'strict'] as const;
export type EgressMode = (typeof EGRESS_MODES)[number];

export const SETTINGS = {
  node: plain<NodeSettings>("the node's identity and basic settings (`system setup` changes them in one write)", nodeShape),
  daemon: plain<DaemonFacts>('how the running daemon was started', daemonShape, { keptOnRestore: true }),
  'ssh.sessionLimit': withDefault<number>('concurrent console sessions over SSH', whole(1, 1000), 10),
  'firewall.management': withDefault<string[]>('management stations (addresses, networks) allowed to SSH and SNMP', z.array(network).check(z.maxLength(1000)), []),
  'firewall.egress': withDefault<EgressMode>('the egress policy: open (the node reaches anything) or strict (only its configured destinations; net/egress.ts)', z.enum(EGRESS_MODES), 'open'),
  'firewall.limits': withDefault<Partial<Limits>>('connection rate limits set by hand (the rest are defaults)', ranged(LIMIT_RANGES), {}),
  'cluster.joinable': plain<JoinWindow>('the join window `cluster prepnode` opened; private to the cluster agent', joinWindowShape),
  'cluster.versions': withDefault<HeardVersions[]>('the agent protocol and product versions each member last named to this node (`cluster list` shows them)', heardVersionsShape, []),
  'cluster.upgrade': plain<ClusterUpgradeRun>('the last `cluster upgrade` run: each node, its version and its state; where it stopped and why (cluster/upgrade.ts)', clusterUpgradeShape),
  'web.certDetails': plain<CertDetails>('subject details of the web certificate', certDetailsShape),
  'web.tlsMinimum': withDefault<TlsMinimum>('the oldest TLS version nginx accepts', z.enum(TLS_MINIMUMS), '1.2'),
  'web.disabledServices': plain<string[]>('portals `web service disable` turned off (web/portals.ts keeps only known names)', z.array(line(64)).check(z.maxLength(64))),
  'network.proxy': sealed('the proxy of outbound TCP connections (http:// CONNECT or socks5://), which may hold a password', uri(['http', 'https', 'socks5'])),
  'network.proxyBypass': withDefault<string[]>('destinations reached directly, not through the proxy: names, .domains, addresses, networks (net/connector.ts)', z.array(bypassEntry).check(z.maxLength(256)), []),
  // Kept on restore: an archive (perhaps another node's) must not change how the administrator reaches this node.
  'network.static': withDefault<StaticNetwork>("static networking: interfaces' addresses and gateways, routes (net/static-network.ts)", staticNetworkShape, { interfaces: [], routes: [] }, { keptOnRestore: true }),
  'network.staticPending': plain<PendingStaticNetwork>('a static networking change awaiting `network confirm`', pendingStaticShape, { keptOnRestore: true }),
  'notify.emailrelay': plain<string>('the SMTP relay of mailto: targets', relayShape),
  'health.monitoring': withDefault<boolean>('whether health monitoring runs', z.boolean(), false),
  'health.intervalMinutes': withDefault<number>('minutes between health checks', whole(1, 1440), 5),
  'health.thresholds': withDefault<Partial<Thresholds>>('health thresholds set by hand (the rest are defaults)', ranged(THRESHOLD_RANGES), {}),
  'health.last': plain<HealthResult>('the last health check, for the banner', healthShape),
  'log.auditRetentionDays': withDefault<number>('days the audit log is kept', whole(1, 36_500), 365),
  snmp: withDefault<Partial<SnmpSettings>>('the SNMP agent: communities, v3 users (passwords are kept outside the store), location, contact', snmpShape, {}),
  'backup.verified': withDefault<Record<string, string>>('archives verified whole, by name: their SHA-256', z.record(line(255), z.string().check(z.regex(/^[0-9a-f]{64}$/, 'not a SHA-256'))), {}),
  'backup.lastRestore': plain<{ id: string; archive: string; at: string }>('the last restore that committed (its id tells start-up whether an interrupted restore committed: backup/restore-journal.ts)', lastRestoreShape),
  'security.source': plain<UpdateSource>('where OS security updates come from: an apt repository and the key that signs it (updates/source.ts)', updateSourceShape),
  // It describes this machine's packages: a backup of another node (or of this one before an update) says nothing of them.
  'security.lastCheck': plain<UpdateCheck>('the last `security check`: the updates it found pending, for the banner', updateCheckShape, { keptOnRestore: true }),
  'events.active': withDefault<ActiveCondition[]>('conditions that hold, so that a restart does not raise them again', z.array(conditionShape).check(z.maxLength(1000)), []),
} as const;

export type SettingKey = keyof typeof SETTINGS;
/** The type of a setting's value. */
export type SettingValue<K extends SettingKey> = (typeof SETTINGS)[K] extends Setting<infer T, infer _> ? T : never;
/** What reading a setting gives: its value, its default, or undefined for a setting without one. */
export type SettingRead<K extends SettingKey> = (typeof SETTINGS)[K] extends Setting<infer T, infer F> ? (F extends undefined ? T | undefined : T) : never;

const keysWhere = (test: (setting: Setting<unknown, unknown>) => boolean) => (Object.keys(SETTINGS) as SettingKey[]).filter((key) => test(SETTINGS[key] as Setting<unknown, unknown>));

/** Settings sealed at rest (store/secrets.ts). */
export const SEALED_SETTINGS: readonly SettingKey[] = keysWhere((s) => s.sealed);
/** Settings a restore leaves as they are. */
export const KEPT_SETTINGS: readonly SettingKey[] = keysWhere((s) => s.keptOnRestore);

/** The longest JSON text a setting's value may be. */
const MAX_VALUE_CHARS = 1024 * 1024;

const parseJson = (text: unknown): { value: unknown } | undefined => {
  if (typeof text !== 'string' || text.length > MAX_VALUE_CHARS) return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
};

const isSettingKey = (key: unknown): key is SettingKey => typeof key === 'string' && Object.hasOwn(SETTINGS, key);

/**
 * What is wrong with a row of the `settings` table as stored (its key, its
 * JSON text), or undefined. A sealed value's clear text is checked only
 * when `unseal` is given (the worker reading a restored store has no key).
 */
export function settingProblem(key: unknown, text: unknown, unseal?: (stored: string) => string): string | undefined {
  if (!isSettingKey(key)) return 'not a setting this product knows';
  const parsed = parseJson(text);
  if (!parsed) return 'not JSON text';
  const setting = SETTINGS[key] as Setting<unknown, unknown>;
  if (!setting.sealed) return problemOf(setting.shape, parsed.value);
  if (typeof parsed.value !== 'string') return 'not a sealed value';
  if (!unseal) return problemOf(sealedText, parsed.value);
  let clear: string;
  try {
    clear = unseal(parsed.value);
  } catch (error) {
    return (error as Error).message;
  }
  return problemOf(setting.shape, clear);
}

const invalidSetting = (key: string, problem: string) => invalidStore(`settings "${key}"`, problem);

export class Settings {
  readonly #c: Connection;

  constructor(connection: Connection) {
    this.#c = connection;
  }

  /** The value (a sealed one opened), else the table's default, else undefined. A value that fails its shape throws "store-invalid". */
  get<K extends SettingKey>(key: K): SettingRead<K> {
    const text = this.text(key);
    if (text === undefined) return structuredClone(SETTINGS[key].fallback) as SettingRead<K>;
    let clear: unknown;
    const problem = settingProblem(key, text, (stored) => (clear = this.#c.secrets.unseal(stored)));
    if (problem) throw invalidSetting(key, problem);
    return (SETTINGS[key].sealed ? clear : JSON.parse(text as string)) as SettingRead<K>;
  }

  /** Whether the setting was set (not only defaulted). */
  has(key: SettingKey): boolean {
    return this.text(key) !== undefined;
  }

  /** Sets a value (a sealed setting is sealed first); undefined removes it, so it reads as its default again. A value that does not fit its shape is refused. */
  set<K extends SettingKey>(key: K, value: SettingValue<K> | undefined): void {
    if (value !== undefined) {
      const problem = problemOf(SETTINGS[key].shape, value);
      if (problem) throw invalidSetting(key, problem);
    }
    const stored = value !== undefined && SETTINGS[key].sealed ? this.#c.secrets.seal(value as string) : value;
    this.#c.tx(() => this.write(key, stored));
  }

  /** Every setting as stored, sealed ones left out: what a support bundle may show (a value that is not JSON, as its text). */
  withoutSecrets(): { key: string; value: unknown }[] {
    return (this.#c.db.prepare('SELECT key, value FROM settings ORDER BY key').all() as { key: string; value: string }[])
      .filter((row) => !(SEALED_SETTINGS as readonly string[]).includes(row.key))
      .map((row) => ({ key: row.key, value: parseJson(row.value)?.value ?? row.value }));
  }

  /** Rewrites each sealed setting as stored through `change` (sealing, resealing); returns how many changed. A value that is not a JSON string is left for the checks to report. */
  changeSealed(change: (stored: string) => string): number {
    let changed = 0;
    for (const key of SEALED_SETTINGS) {
      const value = parseJson(this.text(key))?.value;
      if (typeof value !== 'string') continue;
      const next = change(value);
      if (next !== value) {
        this.write(key, next);
        changed++;
      }
    }
    return changed;
  }

  /** Writes values as they were read with `stored` (used to keep settings across a restore). */
  restore(values: readonly (readonly [SettingKey, unknown])[]): void {
    for (const [key, value] of values) this.write(key, value);
  }

  /** The value as stored (a sealed one still sealed); undefined when unset or not JSON. */
  stored(key: SettingKey): unknown {
    return parseJson(this.text(key))?.value;
  }

  private text(key: SettingKey): unknown {
    return (this.#c.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: unknown } | undefined)?.value;
  }

  private write(key: SettingKey, value: unknown): void {
    if (value === undefined) {
      this.#c.db.prepare('DELETE FROM settings WHERE key = ?').run(key);
      return;
    }
    this.#c.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }
}
