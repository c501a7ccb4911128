// The schedule's place in platformd: jobs run through the daemon's own
// executor as their owner (proven by the owner's token, as a console would),
// so rights, confirmation (--yes is implied: the owner decided when they
// scheduled it) and the audit log are those of a typed command.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname as osHostname } from 'node:os';
import { ScheduleRunner, TICK_MS } from '../schedule/runner.js';
import { INTERVAL_KEY, lastResult, MONITORING_KEY, monitorOnce } from '../health/checks.js';
import { nodeOrDefault } from '../store/node.js';
import { renderBlocks } from '../core/text.js';
import { localCaller } from './caller.js';
import { runNonInteractive } from './execute.js';
import type { Runtime, Subsystem } from '../core/runtime.js';

/** A shorter bound on every run, for tests of the bound on a real daemon. */
const jobTimeBoundMs = Number(process.env.PLATFORM_JOB_TIME_BOUND_MS) || undefined;

export function scheduleRunner(runtime: Runtime, clock: () => Date = () => new Date(), boundMs = jobTimeBoundMs): ScheduleRunner {
  return new ScheduleRunner({
    store: runtime.store,
    clock,
    jobTimeBoundMs: boundMs,
    async execute(words, owner, signal) {
      let token: string | undefined;
      try {
        token = readFileSync(join(runtime.paths.userTokens, owner), 'utf8');
      } catch {
        token = undefined; // the owner is gone: the job holds no rights
      }
      const caller = localCaller(runtime.paths, { user: owner, token, interactive: false, assumeYes: true });
      const answer = await runNonInteractive(runtime, words, caller, signal);
      return answer.type === 'result' ? { exitStatus: answer.exitStatus, output: renderBlocks(answer.blocks) } : { exitStatus: answer.exitStatus, output: answer.message };
    },
    inMaintenance: () => nodeOrDefault(runtime.store, osHostname()).maintenance,
    auditSkip(job) {
      runtime.store.audit.record({ user: job.owner, origin: 'local', address: null, words: job.words.join(' '), outcome: 'cancelled', exit_status: 1, message: `scheduled job ${job.name} skipped: maintenance mode` });
    },
    log: runtime.log,
  });
}

export const scheduleSubsystem: Subsystem = {
  name: 'schedule',
  async start(runtime) {
    const runner = scheduleRunner(runtime);
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
