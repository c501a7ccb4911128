// The firewall inside platformd: it keeps the kernel's table in step with
// what runs on the node. It watches the listening sockets (and the service
// manager), recompiles when a service starts or stops, applies within a
// second (a load nft refuses is tried again, backing off), and saves the
// last good ruleset for boot. Changes an administrator makes by hand
// (management sources, limits) are confirmed commits: they roll back by
// themselves unless `firewall confirm` follows.

import { hostname as osHostname } from 'node:os';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failure } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';
import { localPort, localPortMap, servicesFor } from '../catalog/derive.js';
import type { ServiceSpec } from '../catalog/services.js';
import { nodeOrDefault } from '../store/node.js';
import { Applier, countInputRules, type ApplyResult } from './applier.js';
import { compilePolicy, DEFAULT_LIMITS, explain, FirewallInputError, policyOf, replaceTableScript, type FirewallInput, type Peer, type Policy, type Verdict } from './compiler.js';
import { type Limits } from '../store/settings.js';
import { listeningPorts } from './listening.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DIRECT, egressOf, egressPolicyOf, ProxyError } from '../net/connector.js';
import type { EgressPolicy } from '../net/egress.js';
import { explainOut, type ResolvedEgress } from './compiler.js';
import { ConfirmWindow, DEFAULT_CONFIRM_SECONDS } from '../core/confirm-window.js';

declare module '../core/context.js' {
  interface Services {
    firewall?: FirewallService;
  }
}

/** How often the listening sockets are read: a stopped service closes within a second. */
export const WATCH_INTERVAL_MS = 250;
/** A load nft refused is tried again after 1 s, then 2 s, 4 s ... up to a minute: never left unapplied by one bad moment. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 60_000;
/**
 * Names of egress destinations are resolved at each reconcile and again
 * every minute (not by each record's TTL: a simple period that bounds how
 * stale an address can be), each lookup given 2 s, at most 1000 names.
 */
export const RESOLVE_EVERY_MS = 60_000;
const RESOLVE_TIMEOUT_MS = 2000;
const MAX_NAMES = 1000;

export interface ManagedSettings {
  management: string[];
  limits: Limits;
}

/** What a confirmed commit did: applied or not, and when it rolls back unless confirmed (none in plan mode). */
export interface CommitResult extends ApplyResult {
  rollsBackAt?: Date;
}

export interface FirewallStatus {
  mode: 'apply' | 'plan';
  applied: boolean;
  reason?: string;
  rules: number;
  lastChange?: string;
  pending?: { description: string; rollsBackAt: string };
}

export class FirewallService {
  private readonly applier: Applier;
  private running = new Set<string>();
  private listening = new Set<string>();
  private lastText = '';
  /** The input the last reconcile compiled (inputKey): the watcher reconciles whenever the node differs from it. */
  private reconciledKey = '';
  private lastPeers = '';
  private lastResult: ApplyResult = { applied: false, reason: 'not yet applied', ms: 0 };
  private lastChange?: Date;
  /** The administrator's change awaiting `firewall confirm`: undone by itself when the bound passes. */
  private readonly window = new ConfirmWindow<ManagedSettings>('firewall', async (previous, description, why) => {
    this.save(previous);
    await this.reconcile(true);
    this.runtime.log('warn', `firewall: "${description}" ${why}`);
    this.runtime.services.events?.raise({ name: 'firewall-rolled-back', level: 'warn', text: `firewall change "${description}" rolled back: ${why}` });
  });
  private timer?: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();
  /** Egress destination names → the addresses they resolved to, and when. */
  private resolved = new Map<string, { addresses: string[]; at: number }>();

  /** `readListening` reads the node's listening sockets (a test gives its own). */
  constructor(
    private readonly runtime: Runtime,
    private readonly readListening: () => Set<string> = listeningPorts,
  ) {
    this.applier = new Applier(runtime.options.firewall);
  }

  get mode() {
    return this.applier.mode;
  }

  /** Catalog port → the port the service really uses on this node. */
  private portMap(): Record<number, number> {
    return localPortMap(this.runtime.options);
  }

  managed(): ManagedSettings {
    return {
      management: this.runtime.store.settings.get('firewall.management'),
      limits: { ...DEFAULT_LIMITS, ...this.runtime.store.settings.get('firewall.limits') },
    };
  }

  peers(): Peer[] {
    return this.runtime.store.inventory.list().map((n) => ({ address: n.address, roles: n.roles, primary: n.primary }));
  }

  input(overrides: Partial<ManagedSettings> = {}): FirewallInput {
    const node = nodeOrDefault(this.runtime.store, osHostname());
    // While `cluster prepnode` holds the node joinable, the primary (not yet a peer) must reach the agent.
    const openToAll = this.runtime.store.inventory.joinWindowOpen() ? ['cluster'] : [];
    return { roles: node.roles, listening: this.listening, peers: this.peers(), portMap: this.portMap(), openToAll, egress: this.egress(), ...this.managed(), ...overrides };
  }

  /** The egress policy of the configuration (a stored proxy that no longer parses counts as none here: the connector refuses it). */
  egressPolicy(): EgressPolicy {
    try {
      const { proxy, bypass } = egressOf(this.runtime.store);
      return egressPolicyOf(this.runtime.store, { proxy, bypass });
    } catch (error) {
      if (error instanceof ProxyError) return egressPolicyOf(this.runtime.store, DIRECT);
      throw error;
    }
  }

  /** The egress policy with the addresses its names resolved to last (an address stands for itself). */
  egress(): ResolvedEgress {
    // Read at every watch (4 times a second): open mode works out no destination.
    if (this.runtime.store.settings.get('firewall.egress') === 'open') return { mode: 'open', destinations: [] };
    const policy = this.egressPolicy();
    return { mode: policy.mode, destinations: policy.destinations.map((d) => ({ ...d, addresses: isIP(d.host) ? [d.host] : (this.resolved.get(d.host)?.addresses ?? []) })) };
  }

  /** The names strict egress needs that were never resolved or were resolved over a minute ago. */
  private staleNames(now = Date.now()): string[] {
    if (this.runtime.store.settings.get('firewall.egress') === 'open') return [];
    const policy = this.egressPolicy();
    const names = [...new Set(policy.destinations.map((d) => d.host).filter((h) => !isIP(h)))].slice(0, MAX_NAMES);
    return names.filter((name) => now - (this.resolved.get(name)?.at ?? 0) >= RESOLVE_EVERY_MS);
  }

  /** Resolves the stale names, each bounded in time; a name that fails keeps the addresses it had. */
  private async resolveNames(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      this.staleNames(now).map(async (name) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), RESOLVE_TIMEOUT_MS)));
        const found = await Promise.race([lookup(name, { all: true }).catch(() => undefined), timeout]);
        clearTimeout(timer);
        const addresses = found?.map((a) => a.address) ?? this.resolved.get(name)?.addresses ?? [];
        this.resolved.set(name, { addresses, at: now });
      }),
    );
  }

  policy(overrides: Partial<ManagedSettings> = {}): Policy {
    return policyOf(this.input(overrides));
  }

  /** Services of the node's roles that are seen running, by their (mapped) ports. */
  private detectRunning(): Set<string> {
    this.listening = this.readListening();
    const map = this.portMap();
    const node = nodeOrDefault(this.runtime.store, osHostname());
    const running = new Set<string>();
    for (const service of servicesFor(node.roles)) {
      if (service.ports.some((p) => this.listening.has(`${map[p.port] ?? p.port}/${p.protocol}`))) running.add(service.name);
    }
    return running;
  }

  /** Names of the node's services that are not running (for the banner's application line). */
  down(): string[] {
    const node = nodeOrDefault(this.runtime.store, osHostname());
    return servicesFor(node.roles)
      .filter((s) => !s.alwaysOpen && s.scope !== 'management' && !this.running.has(s.name))
      .map((s) => s.name);
  }

  /** Whether something listens on the service's ports now (SSH too: always open is the firewall's rule, not a process). */
  isRunning(service: ServiceSpec): boolean {
    return this.running.has(service.name);
  }

  /** The port a catalog port has on this node. */
  localPort(port: number): number {
    return localPort(port, this.runtime.options);
  }

  listeningNow(): Set<string> {
    return new Set(this.listening);
  }

  /**
   * Recompiles and applies if anything changed; serialised so applies never
   * overlap. Never rejects: callers fire it and forget, so a failure is
   * logged and reported as not applied.
   */
  reconcile(force = false): Promise<ApplyResult> {
    const next = this.queue.then(() => this.reconcileNow(force)).catch((error: Error) => {
      this.runtime.log('error', `firewall: ${error.stack ?? error.message}`);
      return { applied: false, reason: error.message, ms: 0 };
    });
    this.queue = next;
    return next;
  }

  private async reconcileNow(force: boolean): Promise<ApplyResult> {
    await this.resolveNames();
    this.running = this.detectRunning();
    const input = this.input();
    // What the watcher compares the node with from now on: the state this reconcile saw, not the one that asked for it.
    this.reconciledKey = inputKey(input);
    const policy = policyOf(input);
    const text = compilePolicy(policy);
    const peers = JSON.stringify(input.peers);
    if (!force && text === this.lastText) return this.lastResult;
    // Only the peers changed: update the set elements, reload no rule.
    const onlyPeers = this.lastText !== '' && this.lastResult.applied && withoutElements(text) === withoutElements(this.lastText) && peers !== this.lastPeers;
    const result = onlyPeers ? await this.applier.updatePeers(policy) : await this.applier.applyTable(text);
    if (result.applied && !onlyPeers) {
      const kernel = await this.applier.readBack();
      if (!kernel || kernel.inputRules !== countInputRules(text)) {
        result.applied = false;
        result.reason = `the kernel holds ${kernel?.inputRules ?? 'no'} input rules, ${countInputRules(text)} were loaded`;
      }
    }
    this.lastText = text;
    this.lastPeers = peers;
    this.lastResult = result;
    this.lastChange = new Date();
    if (result.applied) this.saveLastGood(text);
    else if (this.mode === 'apply') this.runtime.log('error', `firewall not applied: ${result.reason}`);
    return result;
  }

  /** Kept for boot: platform-firewall.service loads it before the network comes up. */
  private saveLastGood(text: string): void {
    const dir = this.runtime.paths.firewall;
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'last-good.nft');
    writeFileSync(`${file}.new`, replaceTableScript(text), { mode: 0o600 });
    renameSync(`${file}.new`, file);
  }

  /**
   * Watches sockets and settings: a service starting or stopping, a role
   * change (system setup) or a membership change (cluster) all reach the
   * kernel within a second, with nobody asking.
   */
  start(): void {
    let busy = false;
    let retryAt = 0;
    let retryDelay = RETRY_FIRST_MS;
    this.timer = setInterval(() => {
      // One reconcile of the watcher's at a time; the next look compares with what that one saw.
      if (busy) return;
      let changed: boolean;
      try {
        this.running = this.detectRunning();
        changed = inputKey(this.input()) !== this.reconciledKey || this.staleNames().length > 0;
      } catch {
        return; // a store that fails its checks (the recovery state says so): the ruleset in force stays
      }
      const retry = !changed && this.mode === 'apply' && !this.lastResult.applied && Date.now() >= retryAt;
      if (!changed && !retry) return;
      busy = true;
      void this.reconcile(retry).then((result) => {
        busy = false;
        if (result.applied) {
          retryDelay = RETRY_FIRST_MS;
          return;
        }
        retryAt = Date.now() + retryDelay;
        retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
      });
    }, WATCH_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.window.stop();
  }

  status(): FirewallStatus {
    return {
      mode: this.mode,
      applied: this.lastResult.applied,
      reason: this.lastResult.reason,
      rules: this.lastText ? countInputRules(this.lastText) : 0,
      lastChange: this.lastChange?.toISOString(),
      pending: this.window.pending,
    };
  }

  ruleset(): string {
    return this.lastText;
  }

  explain(source: string, port: number, protocol: 'tcp' | 'udp'): Verdict {
    return explain(this.policy(), source, port, protocol);
  }

  /** `firewall explain out`: a host (name or address) and port, judged by the egress policy in force. */
  explainOut(host: string, port: number, protocol: 'tcp' | 'udp') {
    return explainOut(this.policy(), host, port, protocol);
  }

  /** `firewall egress strict|open`: saved, and in the kernel by the same reconcile as every other change. */
  async setEgress(mode: EgressPolicy['mode']): Promise<ApplyResult> {
    this.runtime.store.settings.set('firewall.egress', mode);
    return this.reconcile(true);
  }

  /**
   * A confirmed commit: refuses a change that would cut the caller's own SSH
   * session, applies it, and rolls it back after `seconds` unless confirmed.
   * In plan mode nothing reaches the kernel, so nothing can lock anyone out:
   * the change is saved into the plan with nothing to confirm and no rollback.
   */
  async commitConfirmed(change: Partial<ManagedSettings>, description: string, sshConnection: string | undefined, seconds = DEFAULT_CONFIRM_SECONDS): Promise<CommitResult> {
    const previous = this.managed();
    const candidate = { ...previous, ...change };
    let policy: Policy;
    try {
      policy = this.policy(candidate);
    } catch (error) {
      if (error instanceof FirewallInputError) throw failure('bad-firewall-value', error.message);
      throw error;
    }
    if (sshConnection) {
      const [source, , , port] = sshConnection.split(' ');
      if (source && port) {
        const verdict = explain(policy, source, Number(port), 'tcp');
        if (!verdict.allowed) throw failure('would-lock-out', `refused: this change would cut your own SSH session from ${source} (${verdict.reason})`);
      }
    }
    this.window.assertNonePending();
    this.save(candidate);
    const result = await this.reconcile(true);
    if (this.mode === 'plan') return { ...result };
    if (!result.applied) {
      this.save(previous);
      await this.reconcile(true);
      throw failure('not-applied', `the change was not applied (${result.reason}); the previous rules stay`);
    }
    return { ...result, rollsBackAt: this.window.open(previous, description, seconds) };
  }

  confirm(): string {
    return this.window.confirm();
  }

  rollback(why?: string): Promise<string> {
    return this.window.rollback(why);
  }

  private save(settings: ManagedSettings): void {
    this.runtime.store.tx(() => {
      this.runtime.store.settings.set('firewall.management', settings.management);
      this.runtime.store.settings.set('firewall.limits', settings.limits);
    });
  }
}

/** The table without the peer sets' elements, to tell a peer-only change from any other. */
function withoutElements(text: string): string {
  return text.replace(/(  set peers_[a-z]+_v[46] \{\n    type \S+\n    flags interval\n    auto-merge)\n    elements = \{[^}]*\}/g, '$1');
}

/** An input as a comparable string (the listening set sorted). */
function inputKey(input: FirewallInput): string {
  return JSON.stringify(input, (_, value: unknown) => (value instanceof Set ? [...value].sort() : value));
}
