// The scheduled jobs and their last runs, as rows of the config store.

import type { Connection } from './connection.js';
import { checkedRow } from './rows.js';

export type Timing = { kind: 'daily'; hour: number; minute: number } | { kind: 'hours'; every: number } | { kind: 'weekly'; day: number };

export interface Job {
  name: string;
  owner: string;
  words: string[];
  timing: Timing;
  enabled: boolean;
  createdAt: string;
  lastDue: string | null;
}

export interface JobRun {
  due: string;
  startedAt: string;
  outcome: 'ok' | 'failed' | 'skipped';
  exitStatus: number | null;
  output: string | null;
}

/** Runs kept per job: the log is for "what happened lately", not an archive. */
const RUNS_KEPT = 50;

interface JobRow {
  name: string;
  owner: string;
  words: string;
  timing: string;
  enabled: number;
  created_at: string;
  last_due: string | null;
}

const toJob = (row: JobRow): Job => toCheckedJob(checkedRow('schedule_jobs', row));
const toCheckedJob = (r: JobRow): Job => ({ name: r.name, owner: r.owner, words: JSON.parse(r.words), timing: JSON.parse(r.timing), enabled: r.enabled === 1, createdAt: r.created_at, lastDue: r.last_due });

export class Schedule {
  constructor(private readonly c: Connection) {}

  list(): Job[] {
    return (this.c.db.prepare('SELECT * FROM schedule_jobs ORDER BY name').all() as JobRow[]).map(toJob);
  }

  find(name: string): Job | undefined {
    const row = this.c.db.prepare('SELECT * FROM schedule_jobs WHERE name = ?').get(name) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  add(job: Omit<Job, 'lastDue'>): void {
    checkedRow('schedule_jobs', { name: job.name, owner: job.owner, words: JSON.stringify(job.words), timing: JSON.stringify(job.timing), enabled: job.enabled ? 1 : 0, created_at: job.createdAt, last_due: null });
    this.c.tx(() =>
      this.c.db
        .prepare('INSERT INTO schedule_jobs (name, owner, words, timing, enabled, created_at, last_due) VALUES (?, ?, ?, ?, ?, ?, NULL)')
        .run(job.name, job.owner, JSON.stringify(job.words), JSON.stringify(job.timing), job.enabled ? 1 : 0, job.createdAt),
    );
  }

  /** A new timing starts counting from now: no run is "missed" by changing it. */
  setTiming(name: string, timing: Timing, now: Date): void {
    this.c.tx(() => this.c.db.prepare('UPDATE schedule_jobs SET timing = ?, last_due = ? WHERE name = ?').run(JSON.stringify(timing), now.toISOString(), name));
  }

  setEnabled(name: string, enabled: boolean, now: Date): void {
    // Enabling counts from now, so a long-disabled job does not fire at once.
    this.c.tx(() => this.c.db.prepare('UPDATE schedule_jobs SET enabled = ?, last_due = CASE WHEN ? THEN ? ELSE last_due END WHERE name = ?').run(enabled ? 1 : 0, enabled ? 1 : 0, now.toISOString(), name));
  }

  delete(name: string): boolean {
    return this.c.tx(() => this.c.db.prepare('DELETE FROM schedule_jobs WHERE name = ?').run(name).changes > 0);
  }

  /** A deleted user's jobs (and their logs) go with them. */
  deleteOwnedBy(owner: string): number {
    return this.c.tx(() => this.c.db.prepare('DELETE FROM schedule_jobs WHERE owner = ?').run(owner).changes);
  }

  markDue(name: string, due: Date): void {
    this.c.tx(() => this.c.db.prepare('UPDATE schedule_jobs SET last_due = ? WHERE name = ?').run(due.toISOString(), name));
  }

  recordRun(job: string, run: JobRun): void {
    this.c.tx(() => {
      this.c.db.prepare('INSERT INTO schedule_runs (job, due, started_at, outcome, exit_status, output) VALUES (?, ?, ?, ?, ?, ?)').run(job, run.due, run.startedAt, run.outcome, run.exitStatus, run.output);
      this.c.db.prepare('DELETE FROM schedule_runs WHERE job = ? AND id NOT IN (SELECT id FROM schedule_runs WHERE job = ? ORDER BY id DESC LIMIT ?)').run(job, job, RUNS_KEPT);
    });
  }

  runs(job: string, limit = 10): JobRun[] {
    const rows = (this.c.db.prepare('SELECT * FROM schedule_runs WHERE job = ? ORDER BY id DESC LIMIT ?').all(job, limit) as { id: number; job: string; due: string; started_at: string; outcome: JobRun['outcome']; exit_status: number | null; output: string | null }[]).map((row) => checkedRow('schedule_runs', row));
    return rows.map((r) => ({ due: r.due, startedAt: r.started_at, outcome: r.outcome, exitStatus: r.exit_status, output: r.output }));
  }
}
