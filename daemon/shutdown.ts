// How platformd stops: bounded, whatever runs. Every request, job and
// stream is told at once (daemon/stopping.ts), then the steps run in order
// (the connections' last answers, each subsystem in reverse order of start,
// the store), each with a deadline after which the next one goes on without
// it; past the overall deadline platformd exits anyway, naming the step it
// was waiting for. Each step's time is logged, so a slow stop names itself.

import { abortEverything } from './stopping.js';

/** The time requests get to send their last answer, each subsystem to stop, and the whole before platformd exits anyway (systemd's TimeoutStopSec is 10 s). */
export const STOP_LIMITS = { requestsMs: 1000, stepMs: 1500, deadlineMs: 4500 };

export interface StopStep {
  name: string;
  stop(): Promise<unknown> | unknown;
  /** Its own deadline, when not STOP_LIMITS.stepMs. */
  deadlineMs?: number;
}

export interface StopOptions {
  log(level: 'info' | 'error', message: string): void;
  /** Ends the process (after removing the pid file and socket); called once, by the steps' end or the overall deadline. */
  exit(status: 0 | 1): void;
  limits?: typeof STOP_LIMITS;
}

/** Runs the steps, each bounded, under the overall deadline; `exit(0)` when all ended, `exit(1)` when the deadline cut them short. */
export async function stopBounded(steps: readonly StopStep[], options: StopOptions): Promise<void> {
  const limits = options.limits ?? STOP_LIMITS;
  const began = performance.now();
  const timings: string[] = [];
  let current = 'nothing';
  let exited = false;
  const exit = (status: 0 | 1) => {
    if (exited) return;
    exited = true;
    options.exit(status);
  };
  const deadline = setTimeout(() => {
    options.log('error', `stopping: ${current} did not stop within ${limits.deadlineMs / 1000} s; exiting anyway (stopped: ${timings.join(', ') || 'nothing'})`);
    exit(1);
  }, limits.deadlineMs);
  abortEverything();
  for (const step of steps) {
    if (exited) return;
    current = step.name;
    const start = performance.now();
    const limit = step.deadlineMs ?? limits.stepMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), limit)));
    const outcome = await Promise.race([Promise.resolve().then(() => step.stop()).then(() => 'ok' as const, (error: unknown) => error), late]);
    clearTimeout(timer);
    timings.push(`${step.name} ${Math.round(performance.now() - start)} ms`);
    if (outcome === 'late') options.log('error', `stopping: ${step.name} did not stop within ${limit / 1000} s; going on without it`);
    else if (outcome !== 'ok') options.log('error', `stopping ${step.name}: ${(outcome as Error)?.message ?? outcome}`);
  }
  clearTimeout(deadline);
  if (exited) return;
  options.log('info', `stopped in ${Math.round(performance.now() - began)} ms (${timings.join(', ')})`);
  exit(0);
}
