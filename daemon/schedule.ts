// The schedule's place in platformd: jobs run through the daemon's own
// executor as their owner (proven by the owner's token, as a console would),
// so rights, confirmation (--yes is implied: the owner decided when they
// scheduled it) and the audit log are those of a typed command.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname as osHostname } from 'node:os';
import { ScheduleRunner } from '../schedule/runner.js';
import { nodeOrDefault } from '../store/node.js';
import { renderBlocks } from '../shell/render/text.js';
import { runNonInteractive } from './execute.js';
import type { Runtime, Subsystem } from './runtime.js';

export function scheduleRunner(runtime: Runtime, clock: () => Date = () => new Date()): ScheduleRunner {
  return new ScheduleRunner({
    store: runtime.store,
    clock,
    async execute(words, owner) {
      let token: string | undefined;
      try {
        token = readFileSync(join(runtime.paths.userTokens, owner), 'utf8');
      } catch {
        token = undefined; // the owner is gone: the job holds no rights
      }
      const answer = await runNonInteractive(runtime, words, { user: owner, token, origin: 'local', interactive: false, assumeYes: true });
      return answer.type === 'result' ? { exitStatus: answer.exitStatus, output: renderBlocks(answer.blocks) } : { exitStatus: answer.exitStatus, output: answer.message };
    },
    inMaintenance: () => nodeOrDefault(runtime.store, osHostname()).maintenance,
    auditSkip(job) {
      runtime.store.audit({ user: job.owner, origin: 'local', address: null, words: job.words.join(' '), outcome: 'cancelled', exit_status: 1, message: `scheduled job ${job.name} skipped: maintenance mode` });
    },
    log: runtime.log,
  });
}

export const scheduleSubsystem: Subsystem = {
  name: 'schedule',
  async start(runtime) {
    const runner = scheduleRunner(runtime);
    runner.start();
    return () => runner.stop();
  },
};
