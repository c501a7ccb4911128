// Runs the scheduled jobs inside platformd. Every tick it looks for jobs
// whose due time has passed since the last one handled; each such job runs
// once (however many due times a stopped daemon missed), with its owner's
// rights, through the same executor as a typed command (so it is audited),
// or is skipped, and logged as skipped, while the node is in maintenance
// mode. Every run is bounded (JOB_TIME_BOUND_MS), runs beside the others,
// and is cancelled when the daemon stops. The clock is injected, so tests
// can move time.

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
  /** Runs a console command as `owner`, with that user's rights; audited by the executor. Aborting `signal` cancels it. */
  execute(words: string[], owner: string, signal: AbortSignal): Promise<JobOutcome>;
  inMaintenance(): boolean;
  /** Records a skipped run in the audit log. */
  auditSkip(job: Job): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** How long one run may take before it is cancelled and recorded as failed. Default JOB_TIME_BOUND_MS. */
  jobTimeBoundMs?: number;
}

/** How often due times are looked for: a job runs within this of its time. */
export const TICK_MS = 15_000;
/** A run longer than this is cancelled (a job that never ends, such as `log follow`, would otherwise run forever). */
export const JOB_TIME_BOUND_MS = 60 * 60_000;
/** The end of a run's output kept in its log. */
export const OUTPUT_KEPT = 4000;

/** Why a run was cancelled: the reason its signal carries. */
class RunCancelled extends Error {}

const duration = (ms: number) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

export class ScheduleRunner {
  private timer: NodeJS.Timeout | undefined;
  /** Runs in progress by job name, each with what cancels it: a job never runs twice at once, and never waits for another. */
  private readonly running = new Map<string, { done: Promise<void>; cancel: AbortController }>();
  private stopped = false;

  constructor(private readonly deps: RunnerDeps) {}

  /**
   * One pass: every job that came due runs (or is skipped) once. Each runs
   * on its own, so a slow job never holds back another; the promise ends
   * when the runs this pass started have ended.
   */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const now = this.deps.clock();
    const started: Promise<void>[] = [];
    for (const job of this.deps.store.schedule.list()) {
      if (!job.enabled) continue;
      const due = latestDue(job.timing, new Date(job.lastDue ?? job.createdAt), now);
      if (!due) continue;
      // Marked before it runs: a crash mid-job does not run it again at start.
      this.deps.store.schedule.markDue(job.name, due);
      const startedAt = this.deps.clock().toISOString();
      const record = (outcome: 'ok' | 'failed' | 'skipped', exitStatus: number | null, output: string) =>
        this.deps.store.schedule.recordRun(job.name, { due: due.toISOString(), startedAt, outcome, exitStatus, output: output.slice(-OUTPUT_KEPT) });
      if (this.deps.inMaintenance()) {
        record('skipped', null, 'skipped: the node is in maintenance mode');
        this.deps.auditSkip(job);
        continue;
      }
      if (this.running.has(job.name)) {
        record('skipped', null, 'skipped: its previous run has not ended');
        continue;
      }
      const cancel = new AbortController();
      const done = this.run(job, cancel, record).finally(() => this.running.delete(job.name));
      this.running.set(job.name, { done, cancel });
      started.push(done);
    }
    return Promise.all(started).then(() => undefined);
  }

  /** One run: ends when the command ends, or at once when it is cancelled (by its time bound or the daemon stopping), whatever the command does. */
  private async run(job: Job, cancel: AbortController, record: (outcome: 'ok' | 'failed', exitStatus: number, output: string) => void): Promise<void> {
    const bound = this.deps.jobTimeBoundMs ?? JOB_TIME_BOUND_MS;
    const timer = setTimeout(() => cancel.abort(new RunCancelled(`cancelled after ${duration(bound)}, the time bound of a scheduled job`)), bound);
    const cancelled = new Promise<never>((_, reject) => cancel.signal.addEventListener('abort', () => reject(cancel.signal.reason), { once: true }));
    try {
      const result = await Promise.race([this.deps.execute(job.words, job.owner, cancel.signal), cancelled]);
      record(result.exitStatus === 0 ? 'ok' : 'failed', result.exitStatus, result.output);
    } catch (error) {
      const message = (error as Error).message;
      this.deps.log(error instanceof RunCancelled ? 'warn' : 'error', `schedule ${job.name}: ${message}`);
      record('failed', 1, message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A pass at once (runs missed while the daemon was down), then one every tick. */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Starts nothing more, cancels the runs in progress (each recorded as failed) and waits for their records. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const runs = [...this.running.values()];
    for (const run of runs) run.cancel.abort(new RunCancelled('cancelled: platformd is stopping'));
    await Promise.all(runs.map((r) => r.done));
  }
}
