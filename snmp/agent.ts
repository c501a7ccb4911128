// The SNMP agent is Debian's snmpd, configured by the product: its own
// configuration file (<home>/etc/snmp/snmpd.conf), written atomically after
// a real snmpd has read it without complaint. It runs only while someone may
// read it (a community or a v3 user is set). On an appliance systemd runs it
// (platform-snmpd.service); in the embedded default platformd supervises it
// and starts it again if it dies. Either way the dynamic firewall sees
// 161/udp listen and opens it to the management sources only.
//
// The v3 users' passwords are not in the store: snmpd needs them in clear,
// so they live beside its configuration in a file only root reads.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/db.js';
import { agentWanted, renderSnmpdConf, SnmpInputError, type V3Secrets } from './config.js';
import { type SnmpSettings } from '../store/settings.js';
import type { SkippedValue } from '../core/skipped.js';
import { endChild } from '../os/processes.js';

export const SNMPD = '/usr/sbin/snmpd';
export const APPLIANCE_UNIT = 'platform-snmpd.service';
const CHECK_TIMEOUT_MS = 5000;
const RESTART_MAX_MS = 30_000;
/** The line snmpd prints once it has read its configuration and opened its ports. */
const LISTENING_LINE = /NET-SNMP version/;
/** snmpd answers nothing that needs finishing: killed if it has not exited a second after SIGTERM. */
const STOP_GRACE_MS = 1000;

export interface SnmpAgentDeps {
  store: Store;
  /** <home>/etc: the configuration goes in its snmp/ folder. */
  etc: string;
  /** <home>/run: pid and check socket. */
  run: string;
  appliance: boolean;
  /** The catalog's SNMP agent port (161). */
  agentPort: number;
  hostname(): string;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** An agent that died by itself is an event (app-stopped). */
  died(text: string): void;
  /** Stored values the generated configuration left out (snmp/config.ts). */
  skipped(values: SkippedValue[]): void;
}

export class SnmpAgent {
  private child?: ChildProcess;
  private stopping = false;
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: SnmpAgentDeps) {}

  get dir(): string {
    return join(this.deps.etc, 'snmp');
  }
  get configFile(): string {
    return join(this.dir, 'snmpd.conf');
  }
  private get secretsFile(): string {
    return join(this.dir, 'v3-users.json');
  }

  settings(): SnmpSettings {
    return { communities: [], users: [], ...this.deps.store.settings.get('snmp') };
  }

  secrets(): V3Secrets {
    try {
      return JSON.parse(readFileSync(this.secretsFile, 'utf8')) as V3Secrets;
    } catch {
      return {};
    }
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Applies a change: the new configuration is generated and checked by
   * snmpd first; only then are the file, the secrets and the store written,
   * and the agent restarted (or stopped when nobody may read it any more).
   * A change that fails leaves everything as it was.
   */
  update(change: (settings: SnmpSettings, secrets: V3Secrets) => void): Promise<void> {
    const next = this.queue.then(async () => {
      const settings = structuredClone(this.settings());
      const secrets = structuredClone(this.secrets());
      change(settings, secrets);
      const { text, skipped } = renderSnmpdConf(settings, secrets, { agentAddress: this.agentAddress(), sysName: this.deps.hostname() });
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const candidate = `${this.configFile}.new`;
      writeFileSync(candidate, text, { mode: 0o600 });
      // The same file, listening on a private socket instead of the agent port (which the running agent holds).
      // With nobody allowed to read there is nothing to run and nothing to check.
      if (agentWanted(settings)) {
        const socket = join(this.deps.run, `snmpd-check-${process.pid}.sock`);
        const probe = `${candidate}.check`;
        writeFileSync(probe, renderSnmpdConf(settings, secrets, { agentAddress: `unix:${socket}`, sysName: this.deps.hostname() }).text, { mode: 0o600 });
        try {
          await checkConfig(probe, socket);
        } catch (error) {
          rmSync(candidate, { force: true });
          throw error;
        } finally {
          rmSync(probe, { force: true });
        }
      }
      writeAtomically(this.secretsFile, JSON.stringify(secrets), 0o600);
      renameSync(candidate, this.configFile);
      this.deps.store.settings.set('snmp', settings);
      this.deps.skipped(skipped);
      await this.reconcile(true);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private agentAddress(): string {
    return `udp:${this.deps.agentPort},udp6:${this.deps.agentPort}`;
  }

  /** Runs the agent if it is wanted, stops it if not; `restart` re-reads a changed configuration. */
  async reconcile(restart = false): Promise<void> {
    const wanted = agentWanted(this.settings());
    if (this.deps.appliance) {
      await systemctl(wanted ? (restart ? 'restart' : 'start') : 'stop', APPLIANCE_UNIT);
      return;
    }
    if (!wanted || restart) await this.stopChild();
    if (wanted && !this.running()) await this.startChild();
  }

  /** At daemon start: rewrite the configuration from the settings (the host name may have changed) and run it. */
  async start(): Promise<void> {
    if (!agentWanted(this.settings())) return this.reconcile();
    await this.update(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    // On an appliance systemd owns snmpd's life; the daemon stopping does not stop it.
    if (!this.deps.appliance) await this.stopChild();
  }

  private async startChild(): Promise<void> {
    const persistent = join(this.dir, 'persistent');
    mkdirSync(persistent, { recursive: true, mode: 0o700 });
    // -C: only our file; -f: foreground, supervised here; -Lo: its log on stdout, into ours.
    const child = spawn(SNMPD, ['-f', '-Lo', '-C', '-c', this.configFile, '-p', join(this.deps.run, 'snmpd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SNMP_PERSISTENT_DIR: persistent, MIBS: '', MIBDIRS: '/nonexistent' },
    });
    let output = '';
    // snmpd names its version once its ports are open: a command that changed the agent returns when it answers.
    // One slower than the bound is left running (the supervision below covers it), not failed.
    const started = new Promise<'listening' | 'exited' | 'slow'>((resolve) => {
      const timer = setTimeout(() => resolve('slow'), CHECK_TIMEOUT_MS).unref();
      const settle = (how: 'listening' | 'exited') => {
        clearTimeout(timer);
        resolve(how);
      };
      const keep = (d: Buffer) => {
        output = (output + d.toString()).slice(-2000);
        if (LISTENING_LINE.test(output)) settle('listening');
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.once('exit', () => settle('exited'));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`snmpd did not start: ${error.message}`)));
    });
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.child !== child) return; // stopped on purpose
      this.child = undefined;
      const why = signal ? `signal ${signal}` : `exit status ${code}`;
      this.deps.log('warn', `snmpd exited (${why}): ${output.trim().split('\n').slice(-3).join(' | ')}`);
      this.deps.died(`snmpd stopped without being told to (${why})`);
      if (this.stopping) return;
      const delay = Math.min(1000 * 2 ** this.restarts++, RESTART_MAX_MS);
      this.restartTimer = setTimeout(() => void this.reconcile().catch((error) => this.deps.log('error', `snmpd: ${(error as Error).message}`)), delay);
      this.restartTimer.unref();
    });
    // Started: it answers from now on; the restart budget recovers after a quiet minute.
    setTimeout(() => {
      if (this.child === child) this.restarts = 0;
    }, 60_000).unref();
    // An snmpd that exited is reported by the supervision above.
    if ((await started) === 'slow') this.deps.log('warn', `snmpd has not said it listens within ${CHECK_TIMEOUT_MS / 1000} s`);
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    await endChild(child, 'SIGTERM', STOP_GRACE_MS);
  }
}

function writeAtomically(file: string, text: string, mode: number): void {
  writeFileSync(`${file}.new`, text, { mode });
  chmodSync(`${file}.new`, mode);
  renameSync(`${file}.new`, file);
}

/**
 * Has a real snmpd read the file (written to listen on `unix:<socket>`,
 * not the agent port): any complaint about the file fails the check.
 */
export function checkConfig(file: string, socket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    rmSync(socket, { force: true });
    const child = spawn(SNMPD, ['-f', '-Lo', '-C', '-c', file, '-p', `${socket}.pid`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SNMP_PERSISTENT_DIR: `${socket}.persist`, MIBS: '', MIBDIRS: '/nonexistent' },
    });
    let output = '';
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      for (const leftover of [socket, `${socket}.pid`, `${socket}.persist`]) rmSync(leftover, { recursive: true, force: true });
      if (error) reject(error);
      else resolve();
    };
    const complaint = () => /^.*(?:line \d+|Error|Unknown token|Warning)[^\n]*$/m.exec(output)?.[0];
    const onData = (d: Buffer) => {
      output += d.toString();
      const bad = complaint();
      if (bad) finish(new SnmpInputError(`snmpd refused the configuration: ${bad.slice(0, 300)}`));
      else if (LISTENING_LINE.test(output)) finish();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => finish(new Error(`cannot run ${SNMPD}: ${error.message}`)));
    child.once('exit', () => finish(complaint() ? new SnmpInputError(`snmpd refused the configuration: ${complaint()}`) : new Error(`snmpd exited while reading the configuration: ${output.trim().slice(0, 300)}`)));
    const timer = setTimeout(() => finish(new Error(`snmpd did not read the configuration within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
}

function systemctl(verb: 'start' | 'stop' | 'restart', unit: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('systemctl', [verb, unit], { timeout: 30_000 }, (error, _stdout, stderr) => (error ? reject(new Error(`systemctl ${verb} ${unit}: ${(stderr || error.message).trim()}`)) : resolve())),
  );
}
