// `cluster upgrade`, the primary's half: one release file, checked here once,
// handed to each member over the agent (cluster/release-transfer.ts: each
// member checks it again itself) and installed by each node's own `system
// upgrade`, behind its own health gate, one node at a time.
//
// The order keeps the service up and every pair of nodes that talk within
// one version of each other: database nodes first (a newer database serves
// the older applications), then application and unified nodes, then the web
// proxies (in front of applications already new), and the primary last: it
// runs the upgrade, and the runner that restarts it ends this command.
//
// A node: maintenance mode on, the release handed over and installed, back
// on the new version (its agent names it), `cluster check` green for every
// flow to and from it (serial; `fast` does not wait for it), maintenance
// mode off. The first failure stops the run: that node's gate rolled it
// back, the others stay where they are, and running it again continues
// (nodes on the release already are skipped). The run is kept in the
// setting `cluster.upgrade`.

import { open } from 'node:fs/promises';
import { failure } from '../core/errors.js';
import { parseNodeAnswer } from '../core/protocol.js';
import { readAttempt, readMarker } from '../releases/marker.js';
import { runningRelease } from '../releases/layout.js';
import { gateSeconds } from '../releases/runner.js';
import type { InventoryNode } from '../store/inventory.js';
import type { ClusterUpgradeNode, ClusterUpgradeRun } from '../store/settings.js';
import type { Store } from '../store/db.js';
import { AGENT_WORK_TIMEOUT_MS } from './agent.js';
import type { PeerVersions } from './protocol-version.js';
import type { FinalAnswer } from '../core/protocol.js';

/** What a run needs of the cluster service (cluster/service.ts). */
export interface UpgradeCluster {
  inventory(): InventoryNode[];
  isPrimary(): boolean;
  primary(): InventoryNode | undefined;
  versionsOf(address: string): PeerVersions | undefined;
  call<T>(node: InventoryNode, route: string, body: Record<string, unknown>, timeoutMs?: number): Promise<{ body: T; versions: PeerVersions }>;
  run(target: string, words: string[], user: string, timeoutMs: number): Promise<{ node: InventoryNode; answer: FinalAnswer }[]>;
  check(): Promise<{ from: string; to: string; port: number; service: string; expected: string; outcome: string; pass: boolean }[]>;
}
import { TRANSFER_LIMITS } from './release-transfer.js';

/** Who goes first: the lower, the earlier. The primary is always last. */
const ROLE_ORDER = { database: 0, unified: 1, application: 2, webproxy: 3 } as const;

const rank = (node: InventoryNode) => Math.min(...node.roles.map((r) => ROLE_ORDER[r] ?? 9));

/** The order of a run: members by role (ROLE_ORDER) then address, the primary last. */
export function upgradeOrder(nodes: InventoryNode[]): InventoryNode[] {
  const members = nodes.filter((n) => !n.primary).sort((a, b) => rank(a) - rank(b) || a.address.localeCompare(b.address, undefined, { numeric: true }));
  return [...members, ...nodes.filter((n) => n.primary)];
}

const label = (n: { hostname: string; address: string }) => `${n.hostname}[${n.address}]`;
/** What a setting may hold of a reason: one line, bounded. */
const oneLine = (text: string) => text.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface UpgradeRequest {
  /** The release file fetched onto the primary and checked there. */
  file: string;
  version: string;
  sha256: string;
  size: number;
  mode: 'serial' | 'fast';
  user: string;
  progress: (text: string) => void;
}

class NodeFailed extends Error {}

export class ClusterUpgrade {
  private running = false;

  constructor(
    private readonly cluster: UpgradeCluster,
    /** The store may be replaced (a restore): asked each time. */
    private readonly store: () => Store,
  ) {}

  /** Refuses while a run is under way in this platformd (checked before fetching, and again as it starts). */
  refuseWhileRunning(): void {
    if (this.running) throw failure('upgrade-running', 'a cluster upgrade is running already: see "cluster upgrade status"');
  }

  last(): ClusterUpgradeRun | undefined {
    return this.store().settings.get('cluster.upgrade');
  }

  private save(run: ClusterUpgradeRun): void {
    this.store().settings.set('cluster.upgrade', run);
  }

  /**
   * The primary's own switch ends in another platformd: once its runner is
   * done (no marker), its last attempt says how it went. Called by the
   * commands and by the cluster service after a start.
   */
  async settlePrimary(): Promise<ClusterUpgradeRun | undefined> {
    const run = this.last();
    if (!run || run.result !== 'switching') return run;
    const release = runningRelease();
    if (release && readMarker(release.product)) return run;
    const me = run.nodes.find((n) => n.state === 'switching');
    const attempt = release && readAttempt(release.product);
    const on = release?.version ?? null;
    const upgraded = on === run.release;
    const reason = upgraded ? null : oneLine(attempt && attempt.to === run.release ? `its upgrade ${attempt.result}${attempt.reason ? `: ${attempt.reason}` : ''}` : `it runs ${on ?? 'a development checkout'}, not ${run.release}`);
    const nodes = run.nodes.map((n) => (n === me ? { ...n, state: upgraded ? ('upgraded' as const) : ('failed' as const), version: on, reason } : n));
    const settled: ClusterUpgradeRun = { ...run, nodes, result: upgraded ? 'upgraded' : 'failed', endedAt: new Date().toISOString(), stoppedAt: upgraded ? null : (me?.address ?? null), reason };
    this.save(settled);
    if (me) await this.maintenance(me, 'stop', 'platform').catch(() => undefined);
    return settled;
  }

  private async maintenance(node: InventoryNode | ClusterUpgradeNode, action: 'start' | 'stop', user: string): Promise<void> {
    const [result] = await this.cluster.run(node.address, ['system', 'maintenance-mode', action], user, 30_000);
    if (!result || result.answer.exitStatus !== 0) throw new NodeFailed(`maintenance mode ${action}: ${result?.answer.type === 'error' ? result.answer.message : 'no answer'}`);
  }

  /** The product version a node names now (its agent's answer), or undefined when it does not answer. */
  private async versionOf(address: string): Promise<string | undefined> {
    const node = this.cluster.inventory().find((n) => n.address === address);
    if (!node) return undefined;
    return this.cluster.call(node, 'ping', {}, 3000).then(
      ({ versions }) => versions.product,
      () => undefined,
    );
  }

  async run(request: UpgradeRequest): Promise<ClusterUpgradeRun> {
    if (!this.cluster.isPrimary()) throw failure('not-primary', `run "cluster upgrade" on the primary${this.cluster.primary() ? `, ${label(this.cluster.primary()!)}` : ''}`);
    this.refuseWhileRunning();
    const before = await this.settlePrimary();
    if (before?.result === 'switching') throw failure('upgrade-running', 'the primary is still switching to its new release: see "cluster upgrade status"');
    this.running = true;
    try {
      return await this.steps(request);
    } finally {
      this.running = false;
    }
  }

  private async steps(request: UpgradeRequest): Promise<ClusterUpgradeRun> {
    const order = upgradeOrder(this.cluster.inventory());
    const run: ClusterUpgradeRun = {
      release: request.version,
      mode: request.mode,
      startedAt: new Date().toISOString(),
      endedAt: null,
      result: 'running',
      stoppedAt: null,
      reason: null,
      nodes: order.map((n) => ({ address: n.address, hostname: n.hostname, state: 'not reached', version: this.cluster.versionsOf(n.address)?.product ?? null, reason: null })),
    };
    this.save(run);
    const set = (i: number, change: Partial<ClusterUpgradeNode>) => {
      run.nodes[i] = { ...run.nodes[i]!, ...change };
      this.save(run);
    };
    for (const [i, node] of order.entries()) {
      const on = await this.versionOf(node.address);
      set(i, { version: on ?? run.nodes[i]!.version });
      if (on === request.version) {
        request.progress(`${label(node)}: on ${request.version} already, skipped`);
        set(i, { state: 'skipped' });
        continue;
      }
      if (on === undefined) return this.stop(run, i, 'not responding before its upgrade', request);
      set(i, { state: node.primary ? 'switching' : 'upgrading' });
      try {
        await this.maintenance(node, 'start', request.user);
        if (node.primary) {
          // Recorded first: once its runner takes over, this platformd stops and the next one settles the run.
          this.save({ ...run, result: 'switching' });
          request.progress(`${label(node)} (the primary): upgrading itself; platformd restarts on ${request.version}, and this session may see it go`);
          await this.upgradePrimary(request);
          return { ...run, result: 'switching' };
        }
        await this.upgradeMember(node, request);
        set(i, { state: 'upgraded', version: request.version });
        await this.maintenance(node, 'stop', request.user);
        request.progress(`${label(node)}: upgraded to ${request.version}`);
      } catch (error) {
        if (node.primary) this.save(run);
        return this.stop(run, i, (error as Error).message.replace(/^[^:]*: /, ''), request, !(error instanceof NodeFailed && /^maintenance mode start/.test(error.message)));
      }
    }
    const done: ClusterUpgradeRun = { ...run, result: 'upgraded', endedAt: new Date().toISOString() };
    this.save(done);
    return done;
  }

  /** Ends a run at node i: recorded, and the node taken out of maintenance mode (back on the version it had, its gate saw to that). */
  private async stop(run: ClusterUpgradeRun, i: number, why: string, request: UpgradeRequest, leaveMaintenance = true): Promise<ClusterUpgradeRun> {
    const node = run.nodes[i]!;
    const on = await this.versionOf(node.address);
    const reason = oneLine(why);
    run.nodes[i] = { ...node, state: 'failed', reason, version: on ?? node.version };
    const stopped: ClusterUpgradeRun = { ...run, result: 'failed', endedAt: new Date().toISOString(), stoppedAt: node.address, reason };
    this.save(stopped);
    if (leaveMaintenance && on !== undefined) await this.maintenance(node, 'stop', request.user).catch(() => undefined);
    request.progress(`${label(node)}: FAILED: ${reason}`);
    return stopped;
  }

  private async upgradePrimary(request: UpgradeRequest): Promise<void> {
    const self = this.cluster.inventory().find((n) => n.primary)!;
    const [result] = await this.cluster.run(self.address, ['system', 'upgrade', `file://${request.file}`], request.user, AGENT_WORK_TIMEOUT_MS * 5);
    if (!result || result.answer.exitStatus !== 0) throw new NodeFailed(`system upgrade: ${result?.answer.type === 'error' ? result.answer.message : 'no answer'}`);
  }

  /** Hands the file over, has the member upgrade itself from it, and waits until it is back on the new version, checked. */
  private async upgradeMember(node: InventoryNode, request: UpgradeRequest): Promise<void> {
    const { body: offer } = await this.cluster.call<{ id: string }>(node, 'release/offer', { size: request.size, sha256: request.sha256 });
    const id = offer.id;
    try {
      const handle = await open(request.file, 'r');
      try {
        const buffer = Buffer.alloc(TRANSFER_LIMITS.chunkBytes);
        let lastSaid = 0;
        for (let offset = 0; offset < request.size; ) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
          if (bytesRead === 0) throw new NodeFailed(`the release file on the primary ended at ${offset} bytes`);
          await this.cluster.call(node, 'release/chunk', { id, offset, data: buffer.subarray(0, bytesRead).toString('base64') });
          offset += bytesRead;
          if (Date.now() - lastSaid > 500) {
            lastSaid = Date.now();
            request.progress(`${label(node)}: handing the release over: ${(offset / 1048576).toFixed(1)} of ${(request.size / 1048576).toFixed(1)} MiB`);
          }
        }
      } finally {
        await handle.close();
      }
      request.progress(`${label(node)}: checking the release against its own trusted keys`);
      await this.cluster.call(node, 'release/finish', { id }, AGENT_WORK_TIMEOUT_MS);
      request.progress(`${label(node)}: installing; platformd restarts there behind its health gate`);
      const answer = parseNodeAnswer((await this.cluster.call<unknown>(node, 'release/upgrade', { id, user: request.user }, AGENT_WORK_TIMEOUT_MS * 5)).body);
      if (!answer.ok) throw new NodeFailed(`its answer was refused: ${answer.problem}`);
      if (answer.answer.exitStatus !== 0) throw new NodeFailed(`system upgrade: ${answer.answer.type === 'error' ? answer.answer.message : `exit ${answer.answer.exitStatus}`}`);
    } catch (error) {
      await this.cluster.call(node, 'release/abort', { id }).catch(() => undefined);
      throw error;
    }
    await this.backOn(node, request);
    if (request.mode === 'serial') await this.checked(node, request);
  }

  /** Until the node's runner is done: upgraded and naming the new version, or rolled back (the reason is its gate's). */
  private async backOn(node: InventoryNode, request: UpgradeRequest): Promise<void> {
    const deadline = Date.now() + gateSeconds() * 1000 + 90_000;
    const since = Date.now() - 60_000;
    for (;;) {
      await sleep(1000);
      if (Date.now() > deadline) throw new NodeFailed(`not back within ${gateSeconds() + 90} s`);
      const reached = await this.cluster.call<unknown>(node, 'run', { words: ['system', 'upgrade', 'status'], user: request.user, yes: true }, 5000).catch(() => undefined);
      if (!reached) continue;
      const answer = parseNodeAnswer(reached.body);
      if (!answer.ok || answer.answer.type !== 'result') continue;
      const status = answer.answer.data as { inProgress?: unknown; lastAttempt?: { to?: string; result?: string; reason?: string | null; startedAt?: string } | null } | null;
      const attempt = status?.lastAttempt;
      if (!status || status.inProgress || !attempt || attempt.to !== request.version || Date.parse(String(attempt.startedAt)) < since) continue;
      if (attempt.result !== 'upgraded') throw new NodeFailed(`its upgrade ${String(attempt.result)}${attempt.reason ? `: ${String(attempt.reason)}` : ''}`);
      if (reached.versions.product !== request.version) throw new NodeFailed(`its agent names ${reached.versions.product}, not ${request.version}`);
      request.progress(`${label(node)}: back on ${request.version}`);
      return;
    }
  }

  /** `cluster check` green for every flow to and from the node; a few tries while its services settle. */
  private async checked(node: InventoryNode, request: UpgradeRequest): Promise<void> {
    let failed: string[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      const rows = await this.cluster.check();
      failed = rows.filter((r) => !r.pass && (r.from === node.address || r.to === node.address)).map((r) => `${r.from} -> ${r.to} ${r.port} (${r.service}) ${r.outcome}, expected ${r.expected}`);
      if (failed.length === 0) {
        request.progress(`${label(node)}: cluster check green`);
        return;
      }
      await sleep(1000);
    }
    throw new NodeFailed(`cluster check: ${failed.slice(0, 5).join('; ')}`);
  }
}
