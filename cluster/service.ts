// The cluster inside platformd: joining (prepnode on the new node, add on
// the primary), the inventory and its two-phase provisioning to every node,
// running commands everywhere, and checking every flow the catalog expects
// between the nodes.

import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { hostname as osHostname } from 'node:os';
import type { Server } from 'node:https';
import { badInput, failure } from '../core/errors.js';
import { formatTime } from '../core/time.js';
import { flowsBetween, localPort, outsiderPorts, type NodeEnd } from '../catalog/derive.js';
import { ROLE_NAMES, effectiveRoles, type RoleName } from '../catalog/roles.js';
import type { Runtime } from '../core/runtime.js';
import { errorResponse, parseNodeAnswer, type FinalAnswer } from '../core/protocol.js';
import { primaryAddress } from '../os/host.js';
import { nodeOrDefault } from '../store/node.js';
import { AGENT_WORK_TIMEOUT_MS, AgentError, callAgent, joinProof, newNonce, proofMatches, reloadCertificate, startAgent, type Peer, type Route } from './agent.js';
import { OWN_VERSIONS, ProtocolMismatch, type PeerVersions } from './protocol-version.js';
import { ReleaseReceiver } from './release-transfer.js';
import { ClusterUpgrade } from './upgrade.js';
import { gateSeconds } from '../releases/runner.js';
import { clusterFiles, ensureCa, ensureIdentity, fingerprintOf, installMembership, issueNodeCertificate, type ClusterFiles } from './identity.js';

declare module '../core/context.js' {
  interface Services {
    cluster?: ClusterService;
  }
}

export const JOINABLE_MINUTES = JOIN_WINDOW_MINUTES;
/** Wrong join codes a joinable node accepts before it stops being joinable. */
export const JOIN_ATTEMPTS = 5;
export const CHECK_TIMEOUT_MS = 1000;

/** A node of the cluster, as the inventory (store/inventory.ts) keeps it. */
import type { InventoryNode } from '../store/inventory.js';

/** One node's part of `cluster run`: its answer as checked (core/protocol.ts), or why there is none. */
export interface NodeRun {
  node: InventoryNode;
  answer: FinalAnswer;
}

type Joinable = JoinWindow;
import { JOIN_WINDOW_MINUTES, type JoinWindow } from '../store/settings.js';

export interface CheckRow {
  from: string;
  to: string;
  /** The catalog's port (the node may map it, e.g. a test's cluster port). */
  port: number;
  service: string;
  /** open: a flow of the catalog; blocked: a cluster-scoped port this node is an outsider to. */
  expected: 'open' | 'blocked';
  outcome: 'ok' | 'blocked' | 'nothing listening' | 'not responding';
  /** Whether the outcome is what the catalog expects. */
  pass: boolean;
  ms?: number;
}

export class ClusterService {
  readonly files: ClusterFiles;
  private server?: Server;
  private nonce?: string;
  private wrongCodes = 0;
  private expiryTimer?: NodeJS.Timeout;
  /** Inventories received in phase one of a provision, by provision id. */
  private readonly pending = new Map<string, InventoryNode[]>();
  /** The inventory before a commit, kept for a rollback. */
  private readonly previous = new Map<string, InventoryNode[]>();

  /** A release file the primary hands over for `cluster upgrade` (cluster/release-transfer.ts). */
  readonly releases: ReleaseReceiver;

  /** `cluster upgrade` run from this node when it is the primary (cluster/upgrade.ts). */
  readonly upgrade: ClusterUpgrade;
  private settleTimer?: NodeJS.Timeout;

  constructor(private readonly runtime: Runtime) {
    this.files = clusterFiles(runtime.paths);
    this.upgrade = new ClusterUpgrade(this, () => this.runtime.store);
    this.releases = new ReleaseReceiver(join(runtime.paths.run, 'cluster-release'), async (file, user, address) => {
      const execute = this.runtime.services.execute;
      if (!execute) throw new AgentError(503, 'this daemon runs no commands for the cluster');
      return execute(['system', 'upgrade', `file://${file}`], { user, authenticated: true, origin: 'cluster', address, interactive: false, assumeYes: true });
    });
  }

  private get store() {
    return this.runtime.store;
  }

  get port() {
    return this.runtime.options.clusterPort;
  }

  self(): InventoryNode {
    const node = nodeOrDefault(this.store, osHostname());
    return { address: node.ip ?? primaryAddress() ?? '127.0.0.1', hostname: node.hostname, roles: node.roles, dataCentre: node.dataCentre, primary: this.isPrimary() };
  }

  isPrimary(): boolean {
    const me = nodeOrDefault(this.store, osHostname());
    return this.store.inventory.isPrimaryAddress(me.ip ?? primaryAddress() ?? '');
  }

  inventory(): InventoryNode[] {
    return this.store.inventory.list();
  }

  /** Replaces the inventory in one transaction; the firewall's peer sets and nginx follow before it returns. */
  private async saveInventory(nodes: InventoryNode[]): Promise<void> {
    this.store.inventory.replace(nodes, new Date().toISOString());
    await this.runtime.services.firewall?.reconcile();
    try {
      await this.runtime.services.web?.reconfigure();
    } catch (error) {
      this.runtime.log('error', `nginx upstreams not updated: ${(error as Error).message}`);
    }
  }

  async start(): Promise<void> {
    await ensureIdentity(this.files, this.self().hostname);
    const known = (fingerprint: string) => this.store.inventory.knows(fingerprint);
    // The inventory's addresses keep their slots of the agent whatever strangers open (cluster/agent.ts AGENT_LIMITS);
    // asked for every connection, so read at most once a second.
    let members = { addresses: new Set<string>(), readAt: 0 };
    const memberAddress = (address: string) => {
      if (Date.now() - members.readAt > 1000) members = { addresses: new Set(this.store.inventory.list().map((node) => node.address)), readAt: Date.now() };
      return members.addresses.has(address);
    };
    this.server = await startAgent(this.files, this.port, { public: this.publicRoutes(), members: this.memberRoutes() }, known, (m) => this.runtime.log('error', m), memberAddress);
    const joinable = this.joinable();
    if (joinable) this.closeWhenExpired(joinable);
    this.settleUpgrade();
  }

  /**
   * A primary that started while its `cluster upgrade` switched it: once its
   * runner is done, the run records how it went and maintenance mode ends.
   */
  private settleUpgrade(): void {
    if (this.upgrade.last()?.result !== 'switching') return;
    const until = Date.now() + (gateSeconds() + 120) * 1000;
    this.settleTimer = setInterval(() => {
      void this.upgrade.settlePrimary().then(
        (run) => (run?.result !== 'switching' || Date.now() > until) && clearInterval(this.settleTimer),
        (error: Error) => this.runtime.log('error', `cluster upgrade: ${error.message}`),
      );
    }, 2000);
    this.settleTimer.unref();
  }

  stop(): Promise<void> {
    clearTimeout(this.expiryTimer);
    clearInterval(this.settleTimer);
    this.releases.discard();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The firewall opened the agent to anyone for joining; it closes again when the window ends. */
  private closeWhenExpired(joinable: Joinable): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => void this.runtime.services.firewall?.reconcile(), Math.max(0, new Date(joinable.until).getTime() - Date.now()) + 200);
    this.expiryTimer.unref();
  }

  private fingerprint(): string {
    return fingerprintOf(readFileSync(this.files.cert));
  }

  /** Whether a caller is the primary of this node's inventory (only it adds, provisions and runs commands). */
  private isFromPrimary(peer: Peer): boolean {
    return this.store.inventory.isPrimaryFingerprint(peer.fingerprint);
  }

  // -------------------------------------------------------------------------
  // Joining.

  joinable(): Joinable | undefined {
    const joinable = this.store.settings.get('cluster.joinable');
    return joinable && new Date(joinable.until) > new Date() ? joinable : undefined;
  }

  /** Makes this node joinable for a while; the code is what the primary needs. */
  async prepnode(): Promise<{ code: string; fingerprint: string; address: string; until: string }> {
    if (this.inventory().length > 0) throw badInput('already-member', 'this node is already in a cluster; remove it there with "cluster del" first');
    const raw = randomBytes(5).toString('hex').toUpperCase();
    const code = `${raw.slice(0, 5)}-${raw.slice(5)}`;
    const until = new Date(Date.now() + JOINABLE_MINUTES * 60_000).toISOString();
    this.store.settings.set('cluster.joinable', { code, until });
    this.wrongCodes = 0;
    await this.runtime.services.firewall?.reconcile(); // the agent's port opens to the primary
    this.closeWhenExpired({ code, until });
    return { code, fingerprint: this.fingerprint(), address: this.self().address, until };
  }

  private publicRoutes(): Record<string, Route> {
    const requireJoinable = () => {
      const joinable = this.joinable();
      if (joinable) return joinable;
      const expired = this.store.settings.get('cluster.joinable');
      throw new AgentError(403, expired ? `its join code expired at ${formatTime(expired.until)}: run "cluster prepnode" on it again` : 'this node is not joinable: run "cluster prepnode" on it first');
    };
    return {
      'join/hello': async () => {
        requireJoinable();
        this.nonce = newNonce();
        return { node: this.self(), certificate: readFileSync(this.files.cert, 'utf8'), nonce: this.nonce };
      },
      'join/complete': async (body) => {
        const joinable = requireJoinable();
        if (!this.nonce || !proofMatches(joinProof(joinable.code, this.nonce, this.fingerprint()), String(body.proof ?? ''))) {
          // A code is short enough to guess at, given time: a few wrong ones end the join window.
          if (++this.wrongCodes >= JOIN_ATTEMPTS) {
            this.store.settings.set('cluster.joinable', undefined);
            void this.runtime.services.firewall?.reconcile();
            throw new AgentError(403, `wrong join code, ${JOIN_ATTEMPTS} times: the node is no longer joinable; run "cluster prepnode" on it again`);
          }
          throw new AgentError(403, 'wrong join code');
        }
        this.nonce = undefined;
        const inventory = validInventory(body.inventory);
        installMembership(this.files, String(body.ca), String(body.cert));
        this.store.settings.set('cluster.joinable', undefined);
        await this.saveInventory(inventory);
        if (this.server) reloadCertificate(this.server, this.files);
        return { joined: true };
      },
    };
  }

  /** On the primary: contact a prepared node, prove the code, issue its certificate, record it. */
  async add(address: string, code: string, progress: (text: string) => void): Promise<InventoryNode> {
    const me = this.self();
    if (address === me.address) throw badInput('add-self', `${address} is this node; run "cluster add" for the other nodes`);
    if (this.inventory().some((n) => n.address === address)) throw badInput('duplicate', `${address} is already in the cluster`);
    if (this.inventory().length > 0 && !this.isPrimary()) throw failure('not-primary', 'only the primary adds nodes');
    progress(`contacting ${address}`);
    const hello = await callAgent<{ node: InventoryNode; certificate: string; nonce: string }>(this.files, address, this.port, 'join/hello', {}, { asMember: false }).catch((error) => {
      if (error instanceof ProtocolMismatch) throw failure('incompatible-protocol', `cannot add ${address}: it ${error.message.replace(/^[^:]*: /, '')}`);
      if (error instanceof AgentError) throw failure('join-refused', `${address} refused: ${error.message.replace(/^[^:]*: /, '')}`);
      throw failure('unreachable', `${address} is not responding on the cluster port ${this.port}: run "cluster prepnode" on it first, and check the network (${(error as Error).message.replace(/^[^:]*: /, '')})`);
    });
    if (hello.fingerprint !== fingerprintOf(hello.body.certificate)) throw failure('fingerprint-mismatch', `${address} presented another certificate than it offered for joining`);
    await ensureCa(this.files, me.hostname);
    let inventory = this.inventory();
    if (inventory.length === 0) {
      // The first add makes this node the primary and a member of its own CA.
      installMembership(this.files, readFileSync(this.files.ca, 'utf8'), await issueNodeCertificate(this.files, readFileSync(this.files.cert, 'utf8'), me.hostname, me.address));
      if (this.server) reloadCertificate(this.server, this.files);
      inventory = [{ ...me, primary: true, fingerprint: fingerprintOf(readFileSync(this.files.cert)) }];
    }
    this.noteVersions(address, hello.versions);
    const joining = { ...hello.body.node, address, primary: false };
    const certificate = await issueNodeCertificate(this.files, hello.body.certificate, joining.hostname, address);
    const next = [...inventory, { ...joining, fingerprint: fingerprintOf(certificate) }];
    progress(`issuing the cluster certificate of ${joining.hostname}`);
    await callAgent(this.files, address, this.port, 'join/complete', { proof: joinProof(code, hello.body.nonce, hello.fingerprint), ca: readFileSync(this.files.ca, 'utf8'), cert: certificate, inventory: next }, { asMember: false, timeoutMs: AGENT_WORK_TIMEOUT_MS }).catch((error) => {
      throw failure('join-refused', error instanceof AgentError && error.status === 403 ? `${address} refused: ${error.message.replace(/^[^:]*: /, '')}` : (error as Error).message);
    });
    await this.saveInventory(next);
    return next[next.length - 1]!;
  }

  /** On the primary: removes a node and provisions the rest, so its access ends everywhere. */
  async del(address: string, progress: (text: string) => void): Promise<ProvisionReport> {
    const inventory = this.inventory();
    if (!inventory.some((n) => n.address === address)) throw badInput('unknown-node', `${address} is not in the cluster; see "cluster list"`);
    if (address === this.self().address) throw badInput('del-self', 'the primary cannot remove itself');
    if (!this.isPrimary()) throw failure('not-primary', 'only the primary removes nodes');
    const removed = inventory.find((n) => n.address === address)!;
    // The others forget it first (all or none), so its access ends even if it never answers again.
    const report = await this.provision(progress, inventory.filter((n) => n.address !== address));
    progress(`telling ${removed.hostname}[${address}] it left`);
    report.left = await callAgent(this.files, address, this.port, 'leave', {}, { asMember: true, timeoutMs: 2000 }).then(
      () => true,
      () => false,
    );
    return report;
  }

  // -------------------------------------------------------------------------
  // Provisioning: validate everywhere, then commit everywhere, or roll back.

  private memberRoutes(): Record<string, Route> {
    const primaryOnly =
      (route: Route): Route =>
      (body, peer) => {
        if (!this.isFromPrimary(peer)) throw new AgentError(403, 'only the primary may do this');
        return route(body, peer);
      };
    return {
      ping: async () => this.self(),
      'provision/validate': primaryOnly(async (body) => this.validate(String(body.id), body.inventory)),
      'provision/commit': primaryOnly(async (body) => this.commit(String(body.id))),
      'provision/rollback': primaryOnly(async (body) => this.rollbackProvision(String(body.id))),
      run: primaryOnly(async (body, peer) => {
        if (!Array.isArray(body.words) || body.words.length > 256) throw new AgentError(400, 'words: a list of words');
        const words = body.words.map(String);
        const user = body.user === undefined ? 'platform' : String(body.user);
        if (!/^[A-Za-z_][A-Za-z0-9._-]{0,31}$/.test(user)) throw new AgentError(400, 'user: not a user name');
        const execute = this.runtime.services.execute;
        if (!execute) throw new AgentError(503, 'this daemon runs no commands for the cluster');
        // The only 'cluster' caller there is: the primary proved itself with its member certificate.
        return execute(words, { user, authenticated: true, origin: 'cluster', address: peer.address, interactive: false, assumeYes: body.yes === true });
      }),
      check: async (body) => this.checkFrom(validInventory(body.inventory)),
      ...Object.fromEntries(Object.entries(this.releases.routes()).map(([name, route]) => [name, primaryOnly(route)])),
      // Removed by the primary: this node forgets the cluster and may be prepared again.
      leave: primaryOnly(async () => {
        await this.saveInventory([]);
        rmSync(this.files.ca, { force: true });
        return { left: true };
      }),
    };
  }

  private validate(id: string, inventory: unknown): { ok: true } {
    const nodes = validInventory(inventory);
    const node = nodeOrDefault(this.store, osHostname());
    if (node.maintenance) throw new AgentError(409, 'in maintenance mode: provisioning waits until "system maintenance-mode stop" (or "cluster maintenance-mode stop" on the primary)');
    if (!nodes.some((n) => n.address === this.self().address)) throw new AgentError(409, `this node (${this.self().address}) is not in the inventory`);
    this.pending.set(id, nodes);
    return { ok: true };
  }

  private async commit(id: string): Promise<{ ok: true }> {
    const nodes = this.pending.get(id);
    if (!nodes) throw new AgentError(409, 'nothing validated under this provision id');
    this.pending.delete(id);
    this.previous.set(id, this.inventory());
    await this.saveInventory(nodes);
    return { ok: true };
  }

  private async rollbackProvision(id: string): Promise<{ ok: true }> {
    this.pending.delete(id);
    const previous = this.previous.get(id);
    if (previous) await this.saveInventory(previous);
    this.previous.delete(id);
    return { ok: true };
  }

  /** Calls a member route on a node, or runs it here when the node is this one. */
  private async onNode<T>(node: InventoryNode, route: string, body: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    return (await this.reach<T>(node, route, body, timeoutMs)).body;
  }

  /** The same, with the versions the node named; what a node names is kept for `cluster list`, and so is a version this node cannot speak. */
  private async reach<T>(node: InventoryNode, route: string, body: Record<string, unknown>, timeoutMs?: number): Promise<{ body: T; versions: PeerVersions }> {
    if (node.address === this.self().address) {
      const handler = this.memberRoutes()[route]!;
      // As if over the wire: the caller sees the same JSON from this node as from any other.
      const answer: unknown = await handler(body, { address: node.address, fingerprint: this.fingerprint(), member: true });
      return { body: (answer === undefined ? answer : JSON.parse(JSON.stringify(answer))) as T, versions: OWN_VERSIONS };
    }
    try {
      const { body: answer, versions } = await callAgent<T>(this.files, node.address, this.port, route, body, { asMember: true, timeoutMs });
      this.noteVersions(node.address, versions);
      return { body: answer, versions };
    } catch (error) {
      if (error instanceof ProtocolMismatch) this.noteVersions(node.address, error.theirs);
      throw error;
    }
  }

  /** A member route on a node (this one included), with the versions its answer named: for `cluster upgrade`. */
  call<T>(node: InventoryNode, route: string, body: Record<string, unknown>, timeoutMs?: number): Promise<{ body: T; versions: PeerVersions }> {
    return this.reach<T>(node, route, body, timeoutMs);
  }

  /** The versions a node last named (this node's own for itself), if it ever answered. */
  versionsOf(address: string): PeerVersions | undefined {
    if (address === this.self().address) return OWN_VERSIONS;
    const heard = this.store.settings.get('cluster.versions').find((v) => v.address === address);
    return heard && { protocol: heard.protocol, product: heard.product };
  }

  /** Keeps what a node named, writing only when it changed (at most one row per inventory address). */
  private noteVersions(address: string, versions: PeerVersions): void {
    const known = this.versionsOf(address);
    if (known?.protocol === versions.protocol && known.product === versions.product) return;
    const members = new Set(this.inventory().map((n) => n.address).concat(address));
    const others = this.store.settings.get('cluster.versions').filter((v) => v.address !== address && members.has(v.address));
    this.store.settings.set('cluster.versions', [...others, { address, ...versions }]);
  }

  /**
   * Pushes an inventory (by default the primary's own) to its nodes. `serial`
   * does one node at a time, for hosts that are busy.
   */
  async provision(progress: (text: string) => void, nodes = this.inventory(), serial = false): Promise<ProvisionReport> {
    if (!this.isPrimary()) throw failure('not-primary', 'run "cluster provision" on the primary');
    if (nodes.length === 0) throw failure('no-cluster', 'this node is in no cluster: add nodes with "cluster add" first');
    const id = randomBytes(8).toString('hex');
    const label = (n: InventoryNode) => `${n.hostname}[${n.address}]`;
    const each = async <R>(targets: InventoryNode[], fn: (node: InventoryNode) => Promise<R>): Promise<R[]> => {
      if (!serial) return Promise.all(targets.map(fn));
      const results: R[] = [];
      for (const node of targets) results.push(await fn(node));
      return results;
    };
    const phase = async (route: string, targets: InventoryNode[]) =>
      each(targets, async (node) => {
          try {
            await this.onNode(node, route, { id, inventory: nodes }, AGENT_WORK_TIMEOUT_MS);
            progress(`${label(node)}: ${route.split('/')[1]} ok`);
            return { node, error: undefined as string | undefined };
          } catch (error) {
            const message = (error as Error).message.replace(/^[^:]*: /, '');
            progress(`${label(node)}: ${route.split('/')[1]} failed: ${message}`);
            return { node, error: message };
          }
        });
    const validated = await phase('provision/validate', nodes);
    const invalid = validated.filter((v) => v.error);
    if (invalid.length) {
      await phase('provision/rollback', validated.filter((v) => !v.error).map((v) => v.node));
      throw failure('provision-failed', `nothing changed: ${invalid.map((v) => `${label(v.node)} ${v.error}`).join('; ')}`);
    }
    const committed = await phase('provision/commit', nodes);
    const failed = committed.filter((c) => c.error);
    if (failed.length) {
      await phase('provision/rollback', committed.filter((c) => !c.error).map((c) => c.node));
      throw failure('provision-failed', `rolled back: ${failed.map((c) => `${label(c.node)} ${c.error}`).join('; ')}`);
    }
    return { nodes: nodes.map(label) };
  }

  // -------------------------------------------------------------------------
  // Looking, running, checking.

  /**
   * Pings every member; unreachable ones are marked not responding, and one
   * that speaks a protocol this node cannot is named with its version.
   */
  async status(): Promise<NodeStatus[]> {
    const nodes = this.inventory();
    const seen = await Promise.all(
      nodes.map((n) =>
        this.reach(n, 'ping', {}, 2000).then(
          ({ versions }) => ({ responding: true, versions, problem: undefined }),
          (error: Error) => ({ responding: false, versions: error instanceof ProtocolMismatch ? error.theirs : this.versionsOf(n.address), problem: error instanceof ProtocolMismatch ? error.message.replace(/^[^:]*: /, '') : undefined }),
        ),
      ),
    );
    const now = new Date().toISOString();
    this.store.inventory.touch(nodes.filter((_, i) => seen[i]!.responding).map((n) => n.address), now);
    return nodes.map((n, i) => ({ ...n, ...seen[i]!, lastSeen: seen[i]!.responding ? now : n.lastSeen }));
  }

  /** The primary of this node's inventory, to name it to whoever asks a non-primary for a cluster-wide change. */
  primary(): InventoryNode | undefined {
    return this.inventory().find((n) => n.primary);
  }

  /**
   * `cluster maintenance-mode`: the node's own `system maintenance-mode`
   * command on every node (the primary included), through the same member
   * route and checks as `cluster run`. Every node is asked, whatever another
   * answers; what each said comes back.
   */
  async maintenance(action: 'start' | 'stop' | 'status', user: string, timeoutMs: number): Promise<NodeRun[]> {
    const nodes = this.inventory();
    if (nodes.length === 0) throw failure('no-cluster', 'this node is in no cluster: use "system maintenance-mode" for this node alone');
    if (!this.isPrimary()) {
      const primary = this.primary();
      throw failure('not-primary', `run "cluster maintenance-mode ${action}" on the primary${primary ? `, ${primary.hostname}[${primary.address}]` : ''}: only it changes every node`);
    }
    return this.run('all', ['system', 'maintenance-mode', action], user, timeoutMs);
  }

  targets(target: string): InventoryNode[] {
    const nodes = this.inventory();
    if (nodes.length === 0) throw failure('no-cluster', 'this node is in no cluster');
    const me = this.self().address;
    if (target === 'all') return nodes;
    if (target === 'notme') return nodes.filter((n) => n.address !== me);
    if ((ROLE_NAMES as readonly string[]).includes(target)) return nodes.filter((n) => n.roles.includes(target as RoleName) || (target !== 'unified' && effectiveRoles(n.roles).has(target as Exclude<RoleName, 'unified'>)));
    const node = nodes.find((n) => n.address === target);
    if (!node) throw badInput('unknown-target', `"${target}" is not all, notme, a role or the address of a member; see "cluster list"`);
    return [node];
  }

  async run(target: string, words: string[], user: string, timeoutMs: number): Promise<NodeRun[]> {
    const nodes = this.targets(target);
    return Promise.all(
      nodes.map(async (node) => {
        try {
          const checked = parseNodeAnswer(await this.onNode<unknown>(node, 'run', { words, user, yes: true }, timeoutMs));
          return { node, answer: checked.ok ? checked.answer : errorResponse('bad-answer', `${node.address}: its answer was refused: ${checked.problem}`, 1) };
        } catch (error) {
          return { node, answer: errorResponse(error instanceof ProtocolMismatch ? 'incompatible-protocol' : 'not-responding', (error as Error).message, 1) };
        }
      }),
    );
  }

  /**
   * From this node, with real TCP connections: every flow the catalog expects
   * towards the other members must connect, and every cluster-scoped port the
   * catalog gives this node no flow to (an outsider to that service) must not.
   */
  async checkFrom(nodes: InventoryNode[]): Promise<CheckRow[]> {
    const me = nodes.find((n) => n.address === this.self().address) ?? { ...this.self() };
    const rows: Promise<CheckRow>[] = [];
    for (const other of nodes) {
      if (other.address === me.address) continue;
      for (const { port, service, expected } of expectedPorts(me, other)) {
        rows.push(
          tcpOutcome(other.address, localPort(port, this.runtime.options)).then((r) => ({ from: me.address, to: other.address, port, service, expected, ...r, pass: expected === 'open' ? r.outcome === 'ok' : r.outcome !== 'ok' })),
        );
      }
    }
    return Promise.all(rows);
  }

  async check(): Promise<CheckRow[]> {
    const nodes = this.inventory();
    if (nodes.length === 0) throw failure('no-cluster', 'this node is in no cluster');
    const perNode = await Promise.all(
      nodes.map((node) =>
        this.onNode<CheckRow[]>(node, 'check', { inventory: nodes }, 10_000).catch(() =>
          nodes
            .filter((o) => o !== node)
            .flatMap((o) => expectedPorts(node, o).map(({ port, service, expected }) => ({ from: node.address, to: o.address, port, service, expected, outcome: 'not responding' as const, pass: false }))),
        ),
      ),
    );
    return perNode.flat();
  }
}

/**
 * What `from` should find on `to` (catalog/derive.ts): open along the
 * catalog's flows (and the agent for the primary), blocked on every other
 * cluster-scoped port `to` serves. All of them are TCP: a connection tells.
 */
export function expectedPorts(from: NodeEnd, to: NodeEnd): { port: number; service: string; expected: 'open' | 'blocked' }[] {
  const open = flowsBetween(from, to).map((f) => ({ port: f.port, service: f.service, expected: 'open' as const }));
  const blocked = outsiderPorts(from, to).map((p) => ({ port: p.port, service: p.service, expected: 'blocked' as const }));
  return [...open, ...blocked].sort((a, b) => a.port - b.port);
}

/** One node as `cluster status` found it. */
export interface NodeStatus extends InventoryNode {
  responding: boolean;
  /** What the node named (its answer now, or the last one); undefined when it never answered. */
  versions?: PeerVersions;
  /** Why a node that answered is not usable (a protocol this node cannot speak). */
  problem?: string;
}

export interface ProvisionReport {
  nodes: string[];
  /** After `cluster del`: whether the removed node answered and left. */
  left?: boolean;
}

function tcpOutcome(address: string, port: number): Promise<{ outcome: CheckRow['outcome']; ms?: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ outcome: 'blocked' });
    }, CHECK_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome: 'ok', ms: performance.now() - start });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ outcome: error.code === 'ECONNREFUSED' ? 'nothing listening' : 'blocked' });
    });
  });
}

/** An inventory as received from another node, checked field by field. */
function validInventory(value: unknown): InventoryNode[] {
  if (!Array.isArray(value) || value.length === 0) throw new AgentError(400, 'the inventory is empty or not a list');
  return value.map((item) => {
    const n = item as Record<string, unknown>;
    const roles = Array.isArray(n.roles) ? n.roles.map(String) : [];
    if (typeof n.address !== 'string' || !/^[0-9a-f.:]+$/i.test(n.address)) throw new AgentError(400, `bad address in the inventory: ${String(n.address)}`);
    if (roles.some((r) => !(ROLE_NAMES as readonly string[]).includes(r))) throw new AgentError(400, `bad roles for ${n.address}`);
    return {
      address: n.address,
      hostname: String(n.hostname ?? n.address),
      roles: roles as RoleName[],
      dataCentre: String(n.dataCentre ?? 'unknown'),
      primary: n.primary === true,
      fingerprint: typeof n.fingerprint === 'string' ? n.fingerprint : undefined,
    };
  });
}

