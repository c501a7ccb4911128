// Static networking inside platformd, the half that acts. The store is the
// source of truth; every change is a confirmed commit (core/confirm-window.ts,
// the firewall's mechanism): saved, written, and put back by itself unless
// `network confirm` follows within the bound. On an appliance the files go
// to /etc/systemd/network and networkd reloads them (networkctl); in the
// embedded default nothing reaches the machine: the files are the plan, shown.
// A change that takes away the address the caller's own SSH session comes
// in on is refused outright, whatever the mode.

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfirmWindow, DEFAULT_CONFIRM_SECONDS } from '../core/confirm-window.js';
import { failure } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';
import { writeFileInside } from '../os/files.js';
import { ipJson, osRoot } from '../os/host.js';
import type { InterfaceSettings, StaticNetwork } from '../store/settings.js';
import { runTool } from './os-config.js';
import { checkStaticNetwork, fileNameOf, NETWORKD_DIR, networkdFiles, OWN_FILE, StaticNetworkError, type NetworkdFile } from './static-network.js';

declare module '../core/context.js' {
  interface Services {
    staticNetwork?: StaticNetworkService;
  }
}

/** An interface as the kernel has it now. */
export interface LiveInterface {
  name: string;
  mac: string;
  state: string;
  addresses: { cidr: string; dynamic: boolean }[];
}

interface IpAddrRow {
  ifname: string;
  address?: string;
  operstate?: string;
  addr_info?: { local: string; prefixlen: number; dynamic?: boolean; scope?: string }[];
}

/** Every interface of the node (with or without an address), from `ip -j addr`. */
export async function liveInterfaces(): Promise<LiveInterface[]> {
  const rows = await ipJson<IpAddrRow>(['addr', 'show']);
  return rows.map((row) => ({
    name: row.ifname,
    mac: row.address ?? '',
    state: (row.operstate ?? 'unknown').toLowerCase(),
    addresses: (row.addr_info ?? []).map((a) => ({ cidr: `${a.local}/${a.prefixlen}`, dynamic: a.dynamic === true })),
  }));
}

export interface CommitOutcome {
  mode: 'apply' | 'plan';
  files: NetworkdFile[];
  /** Where they were written (apply), else empty. */
  written: string[];
  rollsBackAt: Date;
  warnings: string[];
}

const sameAddress = (cidr: string, address: string) => cidr.split('/')[0] === address;

/**
 * The rule about the caller's own session: the interface its local address
 * (SSH_CONNECTION's third field) is on must keep that address. Undefined
 * when the change keeps it (or the session is local); else why not.
 */
export function cutsSession(next: StaticNetwork, live: LiveInterface[], sshConnection: string | undefined): string | undefined {
  const local = sshConnection?.split(' ')[2];
  if (!local) return undefined;
  const via = live.find((i) => i.addresses.some((a) => sameAddress(a.cidr, local)));
  if (!via) return undefined;
  const entry = next.interfaces.find((i) => i.name === via.name);
  if (!entry) return undefined;
  if (entry.addresses.some((a) => sameAddress(a.cidr, local))) return undefined;
  // DHCP gives the lease back, but only to an address DHCP gave in the first place.
  if (entry.dhcp && via.addresses.some((a) => sameAddress(a.cidr, local) && a.dynamic)) return undefined;
  return `refused: your SSH session comes in on ${via.name} at ${local}, and after this change ${via.name} would no longer hold ${local}; make this change from the node's console or from a session on another interface`;
}

export class StaticNetworkService {
  private readonly window = new ConfirmWindow<StaticNetwork>('network', (previous, description, why) => this.putBack(previous, description, why));

  constructor(
    private readonly runtime: Runtime,
    private readonly root = osRoot(),
  ) {}

  /** apply on an appliance; plan in the embedded default (the machine's networking is never touched). */
  get mode(): 'apply' | 'plan' {
    return this.runtime.store.settings.get('daemon')?.appliance === true ? 'apply' : 'plan';
  }

  get directory(): string {
    return join(this.root, NETWORKD_DIR);
  }

  current(): StaticNetwork {
    return this.runtime.store.settings.get('network.static');
  }

  get pending() {
    return this.window.pending;
  }

  /**
   * A confirmed commit of `next`: checked whole, refused if it cuts the
   * caller's session, saved with what it replaces, written and reloaded
   * (apply), and put back after `seconds` unless confirmed.
   */
  async commit(next: StaticNetwork, description: string, sshConnection: string | undefined, seconds = DEFAULT_CONFIRM_SECONDS): Promise<CommitOutcome> {
    checkStaticNetwork(next);
    const cut = cutsSession(next, await liveInterfaces(), sshConnection);
    if (cut) throw failure('would-cut-session', cut);
    this.window.assertNonePending();
    const previous = this.current();
    const files = networkdFiles(next);
    const rollsBackAt = new Date(Date.now() + seconds * 1000);
    this.runtime.store.tx(() => {
      this.runtime.store.settings.set('network.static', next);
      this.runtime.store.settings.set('network.staticPending', { previous, description, rollsBackAt: rollsBackAt.toISOString() });
    });
    let warnings: string[];
    try {
      warnings = await this.put(next, changedInterfaces(previous, next));
    } catch (error) {
      await this.put(previous).catch(() => undefined);
      this.runtime.store.tx(() => {
        this.runtime.store.settings.set('network.static', previous);
        this.runtime.store.settings.set('network.staticPending', undefined);
      });
      throw failure('not-applied', `the change was not applied (${(error as Error).message}); the previous configuration stays`);
    }
    this.window.open(previous, description, seconds);
    return { mode: this.mode, files, written: this.mode === 'apply' ? files.map((f) => join(this.directory, f.name)) : [], rollsBackAt, warnings };
  }

  confirm(): string {
    const description = this.window.confirm();
    this.runtime.store.settings.set('network.staticPending', undefined);
    return description;
  }

  rollback(why?: string): Promise<string> {
    return this.window.rollback(why);
  }

  /**
   * At start: a change still awaiting confirmation when the daemon stopped
   * (a reboot, a crash) was never confirmed, so it is put back now.
   */
  async start(): Promise<void> {
    try {
      const left = this.runtime.store.settings.get('network.staticPending');
      if (left) await this.putBack(left.previous, left.description, 'not confirmed before platformd restarted');
    } catch (error) {
      // An invalid store (the recovery state says so) or a file that cannot be written: the daemon still starts.
      this.runtime.log('error', `network: the unconfirmed change was not put back: ${(error as Error).message}`);
    }
  }

  private async putBack(previous: StaticNetwork, description: string, why: string): Promise<void> {
    const warnings = await this.put(previous);
    this.runtime.store.settings.set('network.staticPending', undefined);
    this.runtime.log('warn', `network: "${description}" ${why}${warnings.length ? ` (${warnings.join('; ')})` : ''}`);
    this.runtime.services.events?.raise({ name: 'network-rolled-back', level: 'warn', text: `network change "${description}" rolled back: ${why}` });
  }

  stop(): void {
    this.window.stop();
  }

  /** The configuration into the store and, on an appliance, into networkd. Warnings for what networkd refused. */
  private async put(config: StaticNetwork, changed?: string[]): Promise<string[]> {
    this.runtime.store.settings.set('network.static', config);
    if (this.mode === 'plan') return [];
    const files = networkdFiles(config);
    this.writeFiles(files);
    return this.reload(changed ?? config.interfaces.map((i) => i.name));
  }

  /** Each file atomically (os/files.ts); our own files for interfaces no longer configured go. */
  private writeFiles(files: NetworkdFile[]): void {
    mkdirSync(this.directory, { recursive: true, mode: 0o755 });
    const wanted = new Set(files.map((f) => f.name));
    // networkd's files are read by systemd-networkd, which runs as its own user.
    for (const file of files) writeFileInside(this.directory, file.name, file.content, 0o644);
    for (const name of readdirSync(this.directory)) if (OWN_FILE.test(name) && !wanted.has(name)) rmSync(join(this.directory, name), { force: true });
  }

  /** networkd re-reads its files and reconfigures the interfaces that changed; only on the real root. */
  private async reload(interfaces: string[]): Promise<string[]> {
    if (this.root !== '/') return [];
    const error = await runTool('networkctl', ['reload']);
    if (error) throw new Error(`networkctl reload: ${error}`);
    const warnings: string[] = [];
    for (const name of interfaces) {
      const failed = await runTool('networkctl', ['reconfigure', name]);
      // An interface that is not there (yet) takes its file when it appears.
      if (failed) warnings.push(`networkctl reconfigure ${name}: ${failed}`);
    }
    return warnings;
  }
}

/** Interfaces whose configuration differs, or whose routes do. */
function changedInterfaces(before: StaticNetwork, after: StaticNetwork): string[] {
  const files = (config: StaticNetwork) => new Map(safeFiles(config).map((f) => [f.name, f.content]));
  const a = files(before);
  const b = files(after);
  const names = new Set([...before.interfaces, ...after.interfaces].map((i: InterfaceSettings) => i.name));
  return [...names].filter((name) => a.get(fileNameOf(name)) !== b.get(fileNameOf(name)));
}

/** The files of a configuration the store held before (which a newer rule may refuse): none then. */
function safeFiles(config: StaticNetwork): NetworkdFile[] {
  try {
    return networkdFiles(config);
  } catch (error) {
    if (error instanceof StaticNetworkError) return [];
    throw error;
  }
}
