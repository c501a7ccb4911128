// The schedule's place in platformd: jobs run through the daemon's own
// executor as their owner (proven by the owner's token, as a console would),
// so rights, confirmation (--yes is implied: the owner decided when they
// scheduled it) and the audit log are those of a typed command.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname as osHostname } from 'node:os';
import { OUTPUT_KEPT, ScheduleRunner, TICK_MS, type JobOutcome } from '../schedule/runner.js';
import type { JobRun } from '../store/schedule.js';
import { whyNotSchedulable, type JobStarter } from '../commands/schedule.js';
import { parse } from '../commands/tree.js';
import { rightsOf } from '../users/rights.js';
import { failure } from '../core/errors.js';
import { INTERVAL_KEY, lastResult, MONITORING_KEY, monitorOnce } from '../health/checks.js';
import { nodeOrDefault } from '../store/node.js';
import { renderBlocks } from '../core/text.js';
import { localCaller } from './caller.js';
import { runNonInteractive, tree } from './execute.js';
import type { Runtime, Subsystem } from '../core/runtime.js';

/** A shorter bound on every run, for tests of the bound on a real daemon. */
const jobTimeBoundMs = Number(process.env.PLATFORM_JOB_TIME_BOUND_MS) || undefined;

/** Runs a job's words as its owner; a line that is no longer a job (a store from before the rule) is not run. */
async function runAsOwner(runtime: Runtime, words: string[], owner: string, signal?: AbortSignal): Promise<JobOutcome> {
  const refusal = notAJob(runtime, words, owner);
  if (refusal) return { exitStatus: 2, output: `not run: ${refusal}` };
  let token: string | undefined;
  try {
    token = readFileSync(join(runtime.paths.userTokens, owner), 'utf8');
  } catch {
    token = undefined; // the owner is gone: the job holds no rights
  }
  const caller = localCaller(runtime.paths, { user: owner, token, interactive: false, assumeYes: true });
  const answer = await runNonInteractive(runtime, words, caller, signal);
  return answer.type === 'result' ? { exitStatus: answer.exitStatus, output: renderBlocks(answer.blocks) } : { exitStatus: answer.exitStatus, output: answer.message };
}

/** The rule `schedule add` applies, checked again on the line as the owner's rights read it now. */
function notAJob(runtime: Runtime, words: string[], owner: string): string | undefined {
  let parsed;
  try {
    parsed = parse(tree, words, rightsOf(runtime.store, owner).visible);
  } catch {
    return undefined; // the executor says why, and audits it
  }
  return whyNotSchedulable(parsed);
}

const inMaintenance = (runtime: Runtime) => nodeOrDefault(runtime.store, osHostname()).maintenance;

export function scheduleRunner(runtime: Runtime, clock: () => Date = () => new Date(), boundMs = jobTimeBoundMs): ScheduleRunner {
  return new ScheduleRunner({
    store: runtime.store,
    clock,
    jobTimeBoundMs: boundMs,
    execute: (words, owner, signal) => runAsOwner(runtime, words, owner, signal),
    inMaintenance: () => inMaintenance(runtime),
    auditSkip(job) {
      runtime.store.audit.record({ user: job.owner, origin: 'local', address: null, words: job.words.join(' '), outcome: 'cancelled', exit_status: 1, message: `scheduled job ${job.name} skipped: maintenance mode` });
    },
    log: runtime.log,
  });
}

/** `schedule run <job>`: the job now, as its owner, recorded in its log like a run the clock started. */
export function jobStarter(runtime: Runtime, clock: () => Date = () => new Date()): JobStarter {
  return {
    async runNow(job) {
      if (inMaintenance(runtime)) throw failure('maintenance-mode', 'the node is in maintenance mode: scheduled jobs are suspended until it ends');
      const startedAt = clock().toISOString();
      const outcome = await runAsOwner(runtime, job.words, job.owner).catch((error: Error) => ({ exitStatus: 1, output: error.message }));
      const run: JobRun = { due: startedAt, startedAt, outcome: outcome.exitStatus === 0 ? 'ok' : 'failed', exitStatus: outcome.exitStatus, output: outcome.output.slice(-OUTPUT_KEPT) };
      runtime.store.schedule.recordRun(job.name, run);
      return run;
    },
  };
}

export const scheduleSubsystem: Subsystem = {
  name: 'schedule',
  async start(runtime) {
    const runner = scheduleRunner(runtime);
    runtime.services.scheduler = jobStarter(runtime);
    runner.start();
    // Health monitoring: a `diag health` every N minutes while it is enabled.
    const health = setInterval(() => {
      if (!runtime.store.settings.get(MONITORING_KEY)) return;
      const minutes = runtime.store.settings.get(INTERVAL_KEY);
      const last = lastResult(runtime.store);
      if (last && Date.now() - Date.parse(last.at) < minutes * 60_000) return;
      try {
        const result = monitorOnce(runtime.store, runtime.paths);
        if (result.problems.length) runtime.log('warn', `health: ${result.problems.join(', ')}`);
      } catch (error) {
        runtime.log('error', `health: ${(error as Error).message}`);
      }
    }, TICK_MS);
    health.unref();
    return async () => {
      clearInterval(health);
      await runner.stop();
    };
  },
};
