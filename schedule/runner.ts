// Runs the scheduled jobs inside platformd. Every tick it looks for jobs
// whose due time has passed since the last one handled; each such job runs
// once (however many due times a stopped daemon missed), with its owner's
// rights, through the same executor as a typed command (so it is audited),
// or is skipped, and logged as skipped, while the node is in maintenance
// mode. The clock is injected, so tests can move time.

import type { Store } from '../store/db.js';
import type { Job } from '../store/schedule.js';
import { latestDue } from './timing.js';

export interface JobOutcome {
  exitStatus: number;
  output: string;
}

export interface RunnerDeps {
  store: Store;
  clock: () => Date;
  /** Runs a console command as `owner`, with that user's rights; audited by the executor. */
  execute(words: string[], owner: string): Promise<JobOutcome>;
  inMaintenance(): boolean;
  /** Records a skipped run in the audit log. */
  auditSkip(job: Job): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

/** How often due times are looked for: a job runs within this of its time. */
export const TICK_MS = 15_000;
/** The end of a run's output kept in its log. */
export const OUTPUT_KEPT = 4000;

export class ScheduleRunner {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly deps: RunnerDeps) {}

  /** One pass: every job that came due runs (or is skipped) once. */
  tick(): Promise<void> {
    // Never two passes at once: a slow job must not be started twice.
    this.ticking ??= this.pass().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async pass(): Promise<void> {
    const now = this.deps.clock();
    for (const job of this.deps.store.schedule.list()) {
      if (!job.enabled) continue;
      const due = latestDue(job.timing, new Date(job.lastDue ?? job.createdAt), now);
      if (!due) continue;
      // Marked before it runs: a crash mid-job does not run it again at start.
      this.deps.store.schedule.markDue(job.name, due);
      const startedAt = this.deps.clock().toISOString();
      if (this.deps.inMaintenance()) {
        this.deps.store.schedule.recordRun(job.name, { due: due.toISOString(), startedAt, outcome: 'skipped', exitStatus: null, output: 'skipped: the node is in maintenance mode' });
        this.deps.auditSkip(job);
        continue;
      }
      try {
        const result = await this.deps.execute(job.words, job.owner);
        this.deps.store.schedule.recordRun(job.name, { due: due.toISOString(), startedAt, outcome: result.exitStatus === 0 ? 'ok' : 'failed', exitStatus: result.exitStatus, output: result.output.slice(-OUTPUT_KEPT) });
      } catch (error) {
        this.deps.log('error', `schedule ${job.name}: ${(error as Error).message}`);
        this.deps.store.schedule.recordRun(job.name, { due: due.toISOString(), startedAt, outcome: 'failed', exitStatus: 1, output: (error as Error).message });
      }
    }
  }

  /** A pass at once (runs missed while the daemon was down), then one every tick. */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }
}
