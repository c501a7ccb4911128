// `cluster upgrade <uri> [serial|fast]` and `cluster upgrade status`: one
// release for the whole cluster, from the primary (cluster/upgrade.ts says
// the order and the steps of each node).

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { choice } from '../core/argtypes.js';
import { defineCommand, type Command } from '../core/command.js';
import type { Context } from '../core/context.js';
import { badInput, failure } from '../core/errors.js';
import { json } from '../core/json-shape.js';
import { reply, type Block } from '../core/reply.js';
import { formatTime } from '../core/time.js';
import { redactUri, uriArg } from '../net/uri.js';
import type { ClusterService } from '../cluster/service.js';
import { trustedKeys } from '../releases/keys.js';
import { runningRelease } from '../releases/layout.js';
import { checkUpgradePath, ReleaseRefused } from '../releases/manifest.js';
import { gateSeconds } from '../releases/runner.js';
import { fetchRelease, RELEASE_SCHEMES } from '../releases/upgrade.js';
import { verifyReleaseFile } from '../releases/verify-file.js';
import { CLUSTER_UPGRADE_NODE_STATES, type ClusterUpgradeRun } from '../store/settings.js';

export function clusterOf(ctx: Context): ClusterService {
  if (!ctx.services.cluster) throw failure('no-cluster-agent', 'the cluster subsystem is not running in this daemon');
  return ctx.services.cluster;
}

const runShape = json.object({
  release: json.string(),
  mode: json.oneOf('serial', 'fast'),
  startedAt: json.time(),
  endedAt: json.nullable(json.time()),
  result: json.oneOf('running', 'switching', 'upgraded', 'failed'),
  stoppedAt: json.nullable(json.string()),
  reason: json.nullable(json.string()),
  nodes: json.array(json.object({ address: json.string(), hostname: json.string(), state: json.oneOf(...CLUSTER_UPGRADE_NODE_STATES), version: json.nullable(json.string()), reason: json.nullable(json.string()) })),
});

function runBlocks(run: ClusterUpgradeRun): Block[] {
  return [
    {
      kind: 'tree',
      value: {
        release: run.release,
        mode: run.mode,
        started: formatTime(run.startedAt),
        ended: run.endedAt ? formatTime(run.endedAt) : '-',
        result: run.result,
        ...(run.stoppedAt ? { 'stopped at': `${run.nodes.find((n) => n.address === run.stoppedAt)?.hostname ?? ''}[${run.stoppedAt}]: ${run.reason ?? ''}` } : {}),
      },
    },
    { kind: 'table', columns: ['node', 'version', 'state'], rows: run.nodes.map((n) => [`${n.hostname}[${n.address}]`, n.version ?? 'unknown', n.state === 'failed' ? `failed: ${n.reason ?? ''}` : n.state]) },
  ];
}

const refused = (error: unknown) => (error instanceof ReleaseRefused ? badInput(`release-${error.code}`, error.message) : error);

const upgrade = defineCommand({
  words: ['cluster', 'upgrade'],
  summary: 'Upgrade every node to a signed release, one at a time, the primary last (run on the primary)',
  args: [
    { name: 'uri', type: uriArg('<uri>', RELEASE_SCHEMES), summary: 'where the release file is' },
    { name: 'mode', type: choice('<serial|fast>', ['serial', 'fast'] as const), optional: true, summary: 'serial (default): each node passes "cluster check" before the next; fast: does not wait for it' },
  ],
  json: runShape,
  confirm: ({ uri }) =>
    `Upgrade every node of the cluster to the release at ${redactUri(uri)}? One node at a time, the primary last: each goes into maintenance mode, restarts on the new release, and goes back by itself unless it is healthy within ${gateSeconds()} s. The first failure stops the run.`,
  async run(ctx, { uri, mode }) {
    const service = clusterOf(ctx);
    if (service.inventory().length === 0) throw failure('no-cluster', 'this node is in no cluster: use "system upgrade" for this node alone');
    if (!service.isPrimary()) {
      const primary = service.primary();
      throw failure('not-primary', `run "cluster upgrade" on the primary${primary ? `, ${primary.hostname}[${primary.address}]` : ''}`);
    }
    service.upgrade.refuseWhileRunning();
    const running = runningRelease();
    if (!running) throw failure('not-a-release', 'this platformd runs from a development checkout, not an installed release: there is nothing to upgrade (see README "Keeping nodes current")');
    const file = join(running.product.state, `cluster-upgrade-${process.pid}-${Date.now()}.psup`);
    try {
      let checked;
      try {
        ctx.progress(`fetching ${redactUri(uri)}`);
        await fetchRelease({ store: ctx.store, paths: ctx.paths, ask: (q) => ctx.ask(q), signal: ctx.signal }, uri, file, () => {});
        ctx.progress('checking the release against the trusted keys');
        checked = await verifyReleaseFile(file, trustedKeys(running.product));
        if (checked.manifest.version !== running.version) checkUpgradePath(checked.manifest, running.version);
      } catch (error) {
        throw refused(error);
      }
      const run = await service.upgrade.run({ file, version: checked.manifest.version, sha256: checked.sha256, size: checked.size, mode: mode ?? 'serial', user: ctx.caller.user, progress: ctx.progress });
      const said: Record<ClusterUpgradeRun['result'], string> = {
        upgraded: `every node runs ${run.release}`,
        switching: `every member runs ${run.release}; the primary is switching to it now: platformd restarts (this session may see it go) and goes back by itself unless it is healthy within ${gateSeconds()} s. "cluster upgrade status" says how it went.`,
        failed: `stopped at ${run.stoppedAt}: ${run.reason}. The other nodes stay on the version they have; run "cluster upgrade" again once it is fixed: nodes on ${run.release} already are skipped.`,
        running: '',
      };
      return reply.blocks([...runBlocks(run), { kind: run.result === 'failed' ? 'warning' : 'text', text: said[run.result] }], run as never, run.result === 'failed' ? 1 : 0);
    } finally {
      rmSync(file, { force: true });
    }
  },
});

const status = defineCommand({
  words: ['cluster', 'upgrade', 'status'],
  summary: 'Show the last cluster upgrade: each node, its version and its state; where the run stopped and why',
  json: json.object({ lastRun: json.nullable(runShape) }),
  async run(ctx) {
    const service = clusterOf(ctx);
    const run = await service.upgrade.settlePrimary();
    if (!run) return reply.text('no cluster upgrade has run from this node', { lastRun: null });
    // Each node's version as it names it now (the recorded one when it does not answer).
    const now = await service.status();
    const nodes = run.nodes.map((n) => ({ ...n, version: now.find((s) => s.address === n.address && s.responding)?.versions?.product ?? n.version }));
    const shown = { ...run, nodes };
    return reply.blocks(runBlocks(shown), { lastRun: shown as never });
  },
});

export const clusterUpgradeCommands: Command[] = [upgrade, status];
