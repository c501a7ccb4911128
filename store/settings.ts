// The node's settings: one table of every key the store keeps, with the type
// of its value, its default and whether it is sealed at rest. A key that is
// not in SETTINGS cannot be read or written, and a value of the wrong type
// does not compile. Values are JSON in the `settings` table (migration 1).

import type { DaemonOptions } from '../core/runtime.js';
import type { SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS } from '../core/snmp-protocols.js';
import type { RoleName } from '../catalog/roles.js';
import type { Connection } from './connection.js';
import type { EventLevel } from './events.js';

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

/** Health-monitoring thresholds (health/checks.ts holds the defaults). */
export interface Thresholds {
  rootFreePercent: number;
  dataFreePercent: number;
  logsFreePercent: number;
  memoryFreePercent: number;
  /** One-minute load per CPU above which the node is overloaded. */
  loadPerCpu: number;
}

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

/** The window in which `cluster prepnode` lets a primary join this node, and the code it must prove. */
export interface JoinWindow {
  code: string;
  until: string;
}

/** How the running daemon was started: describes the process, not the node's configuration. */
export type DaemonFacts = Pick<DaemonOptions, 'appliance' | 'firewall' | 'webPorts' | 'clusterPort'>;

// ---------------------------------------------------------------------------
// The table.

interface Setting<T, Fallback extends T | undefined> {
  readonly summary: string;
  readonly fallback: Fallback;
  /** Sealed at rest with the store key (store/secrets.ts); read and written in clear through `settings`. */
  readonly sealed: boolean;
  /** Left as it is when a backup is restored (it describes this running daemon). */
  readonly keptOnRestore: boolean;
  /** Type only: never set. */
  readonly type?: T;
}

const plain = <T>(summary: string, options: { keptOnRestore?: boolean } = {}): Setting<T, undefined> => ({ summary, fallback: undefined, sealed: false, keptOnRestore: options.keptOnRestore ?? false });
const withDefault = <T>(summary: string, fallback: T): Setting<T, T> => ({ summary, fallback, sealed: false, keptOnRestore: false });
const sealed = (summary: string): Setting<string, undefined> => ({ summary, fallback: undefined, sealed: true, keptOnRestore: false });

export const SETTINGS = {
  node: plain<NodeSettings>("the node's identity and basic settings (`system setup` changes them in one write)"),
  daemon: plain<DaemonFacts>('how the running daemon was started', { keptOnRestore: true }),
  'ssh.sessionLimit': withDefault<number>('concurrent console sessions over SSH', 10),
  'firewall.management': withDefault<string[]>('management stations (addresses, networks) allowed to SSH and SNMP', []),
  'firewall.limits': withDefault<Partial<Limits>>('connection rate limits set by hand (the rest are defaults)', {}),
  'cluster.joinable': plain<JoinWindow>('the join window `cluster prepnode` opened; private to the cluster agent'),
  'web.certDetails': plain<CertDetails>('subject details of the web certificate'),
  'web.tlsMinimum': withDefault<TlsMinimum>('the oldest TLS version nginx accepts', '1.2'),
  'web.disabledServices': plain<string[]>('portals `web service disable` turned off (web/portals.ts keeps only known names)'),
  'network.proxy': sealed('the proxy of outbound TCP connections (http:// CONNECT or socks5://), which may hold a password'),
  'network.proxyBypass': withDefault<string[]>('destinations reached directly, not through the proxy: names, .domains, addresses, networks (net/connector.ts)', []),
  'notify.emailrelay': plain<string>('the SMTP relay of mailto: targets'),
  'health.monitoring': withDefault<boolean>('whether health monitoring runs', false),
  'health.intervalMinutes': withDefault<number>('minutes between health checks', 5),
  'health.thresholds': withDefault<Partial<Thresholds>>('health thresholds set by hand (the rest are defaults)', {}),
  'health.last': plain<HealthResult>('the last health check, for the banner'),
  'log.auditRetentionDays': withDefault<number>('days the audit log is kept', 365),
  snmp: withDefault<Partial<SnmpSettings>>('the SNMP agent: communities, v3 users (passwords are kept outside the store), location, contact', {}),
  'backup.verified': withDefault<Record<string, string>>('archives verified whole, by name: their SHA-256', {}),
  'backup.lastRestore': plain<{ id: string; archive: string; at: string }>('the last restore that committed (its id tells start-up whether an interrupted restore committed: backup/restore-journal.ts)'),
  'events.active': withDefault<ActiveCondition[]>('conditions that hold, so that a restart does not raise them again', []),
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

export class Settings {
  constructor(private readonly c: Connection) {}

  /** The value (a sealed one opened), else the table's default, else undefined. */
  get<K extends SettingKey>(key: K): SettingRead<K> {
    const stored = this.stored(key);
    if (stored === undefined) return structuredClone(SETTINGS[key].fallback) as SettingRead<K>;
    return (SETTINGS[key].sealed ? this.c.secrets.unseal(stored as string) : stored) as SettingRead<K>;
  }

  /** Whether the setting was set (not only defaulted). */
  has(key: SettingKey): boolean {
    return this.stored(key) !== undefined;
  }

  /** Sets a value (a sealed setting is sealed first); undefined removes it, so it reads as its default again. */
  set<K extends SettingKey>(key: K, value: SettingValue<K> | undefined): void {
    const stored = value !== undefined && SETTINGS[key].sealed ? this.c.secrets.seal(value as string) : value;
    this.c.tx(() => this.write(key, stored));
  }

  /** Every setting as stored, sealed ones left out: what a support bundle may show. */
  withoutSecrets(): { key: string; value: unknown }[] {
    return (this.c.db.prepare('SELECT key, value FROM settings ORDER BY key').all() as { key: string; value: string }[])
      .filter((row) => !(SEALED_SETTINGS as readonly string[]).includes(row.key))
      .map((row) => ({ key: row.key, value: JSON.parse(row.value) as unknown }));
  }

  /** Rewrites each sealed setting as stored through `change` (sealing, resealing); returns how many changed. */
  changeSealed(change: (stored: string) => string): number {
    let changed = 0;
    for (const key of SEALED_SETTINGS) {
      const value = this.stored(key);
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

  stored(key: SettingKey): unknown {
    const row = this.c.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as unknown) : undefined;
  }

  private write(key: SettingKey, value: unknown): void {
    if (value === undefined) {
      this.c.db.prepare('DELETE FROM settings WHERE key = ?').run(key);
      return;
    }
    this.c.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }
}
