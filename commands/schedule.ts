// `schedule ...`: console commands run by platformd at set times, with the
// rights of the user who scheduled them (schedule/runner.ts runs them). A job
// is its owner's: only they, or an administrator, see it, change it or read
// its log, and it goes when its owner is deleted.

import type { Job, JobRun, Timing } from '../store/schedule.js';
import { DEFAULT_TIMING, describeTiming, nextDue } from '../schedule/timing.js';
import { commandLine, name, text } from '../core/argtypes.js';
import { json, messageShape } from '../core/json-shape.js';
import { formatTime } from '../core/time.js';
import { badInput, failure, PlatformError } from '../core/errors.js';
import { reply } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';
import { isAdministrator, rightsOf } from '../users/rights.js';
import { parse, redactWords, registeredTree, type Parsed } from './tree.js';
import { redactSecrets } from '../net/uri.js';

/** What `schedule run` asks of the daemon (daemon/schedule.ts): the job run now, as its owner, and recorded in its log. */
export interface JobStarter {
  runNow(job: Job): Promise<JobRun>;
}

declare module '../core/context.js' {
  interface Services {
    scheduler?: JobStarter;
  }
}

const mayTouch = (ctx: Context, job: Job) => job.owner === ctx.caller.user || isAdministrator(ctx.caller.user, ctx.caller.authenticated);

/** The jobs the caller sees: their own; an administrator sees every one. */
const jobsOf = (ctx: Context) => ctx.store.schedule.list().filter((j) => mayTouch(ctx, j));

const jobArg = (existing: boolean): ArgType<string> => ({ ...name('<job>'), ...(existing ? { complete: (ctx: Context) => jobsOf(ctx).map((j) => j.name) } : {}) });

/** Another user's job is answered exactly like one that does not exist. */
function mustFind(ctx: Context, job: string): Job {
  const found = ctx.store.schedule.find(job);
  if (!found || !mayTouch(ctx, found)) throw badInput('no-such-job', `no scheduled job named ${job}; see "schedule list"`);
  return found;
}

/**
 * Why a line, parsed through the tree as its owner would type it, cannot be
 * a job; undefined when it can. Checked at `schedule add`, and again before
 * every run (daemon/schedule.ts), on the resolved command, not the typed words.
 */
export function whyNotSchedulable(parsed: Parsed): string | undefined {
  if (parsed.kind === 'group') return `"${parsed.node.path.join(' ')}" is a group of commands, not a command; see "help ${parsed.node.path.join(' ')}"`;
  if (parsed.command.words[0] === 'schedule') return 'a scheduled job cannot change the schedule';
  if (parsed.command.endless) return `"${parsed.command.words.join(' ')}" runs until someone stops it, so it cannot be scheduled`;
  if (parsed.command.printsSecret) return `"${parsed.command.words.join(' ')}" prints a secret, which a job's log would keep: it cannot be scheduled`;
  return undefined;
}

const TIME_SYNTAX = 'schedule time <job> <hour> <minute> | every <n> hours | weekly <0-6>';

/** The words after the job's name: one small grammar, checked whole. */
export function parseTiming(words: string[]): Timing {
  const int = (w: string | undefined, min: number, max: number, what: string) => {
    if (w === undefined || !/^\d{1,2}$/.test(w) || Number(w) < min || Number(w) > max) throw badInput('bad-time', `${what} must be ${min}-${max}: ${TIME_SYNTAX}`);
    return Number(w);
  };
  if (words[0] === 'every') {
    if (words.length !== 3 || !/^hours?$/.test(words[2]!)) throw badInput('bad-time', TIME_SYNTAX);
    return { kind: 'hours', every: int(words[1], 1, 23, '<n> hours') };
  }
  if (words[0] === 'weekly') {
    if (words.length !== 2) throw badInput('bad-time', TIME_SYNTAX);
    return { kind: 'weekly', day: int(words[1], 0, 6, 'the day of the week (0 = Sunday)') };
  }
  if (words.length !== 2) throw badInput('bad-time', TIME_SYNTAX);
  return { kind: 'daily', hour: int(words[0], 0, 23, '<hour>'), minute: int(words[1], 0, 59, '<minute>') };
}

const jobShape = json.object({ job: json.string(), command: json.array(json.string()), owner: json.string(), runs: json.string(), enabled: json.boolean(), nextRun: json.nullable(json.time()) });
const jobJson = (j: { name: string; words: string[]; owner: string; timing: Timing; enabled: boolean }, now: Date) => ({
  job: j.name,
  command: j.words,
  owner: j.owner,
  runs: describeTiming(j.timing),
  enabled: j.enabled,
  nextRun: j.enabled ? (nextDue(j.timing, now)?.toISOString() ?? null) : null,
});

const commands: Command[] = [
  defineCommand({
    words: ['schedule', 'add'],
    summary: 'Schedule a console command (runs at 00:00 daily until timed), with your rights',
    args: [
      { name: 'job', type: jobArg(false) },
      { name: 'command', type: commandLine(), rest: true },
    ],
    json: jobShape,
    run(ctx, args) {
      const job = args.job;
      if (args.command.length > 64 || args.command.some((w) => w.length > 1024)) throw badInput('bad-command', 'the command is too long');
      if (ctx.store.schedule.find(job)) throw badInput('duplicate-job', `a job named ${job} exists (yours or another user's); choose another name`);
      // The command as the tree reads it for this user: unknown words get the tree's own error, a command they may not run is refused.
      const rights = rightsOf(ctx.store, ctx.caller.user, ctx.caller.authenticated);
      const parsed = parse(registeredTree(ctx), args.command, rights.visible);
      const why = whyNotSchedulable(parsed);
      if (why || parsed.kind !== 'command') throw badInput('not-schedulable', why ?? 'not a command');
      if (!rights.permits(parsed.audit)) throw new PlatformError('not-permitted', `you have no right to run "${parsed.audit}"`, 1);
      const words = parsed.words;
      // A job's words are kept in the store as they are, to run them: a line that holds a secret (a key, a URI's password) is no job.
      const hidden = redactWords(registeredTree(ctx), words, (w) => redactSecrets(w, { word: true }));
      if (hidden.some((w, i) => w !== words[i])) throw badInput('not-schedulable', 'the command holds a secret (a key or a password), which a job would keep in the store in clear: it cannot be scheduled');
      const now = new Date();
      ctx.store.schedule.add({ name: job, owner: ctx.caller.user, words, timing: DEFAULT_TIMING, enabled: true, createdAt: now.toISOString() });
      return reply.tree({ job, command: words.join(' '), owner: ctx.caller.user, runs: describeTiming(DEFAULT_TIMING) }, jobJson({ name: job, words, owner: ctx.caller.user, timing: DEFAULT_TIMING, enabled: true }, now));
    },
  }),
  defineCommand({
    words: ['schedule', 'time'],
    summary: 'When a job runs: <hour> <minute> (daily), every <n> hours, weekly <0-6>',
    args: [
      { name: 'job', type: jobArg(true) },
      { name: 'when', type: text('<hour> <minute>|every <n> hours|weekly <0-6>'), rest: true },
    ],
    json: jobShape,
    run(ctx, args) {
      const job = mustFind(ctx, args.job);
      const timing = parseTiming(args.when);
      const now = new Date();
      ctx.store.schedule.setTiming(job.name, timing, now);
      return reply.tree({ job: job.name, runs: describeTiming(timing), next: formatTime(nextDue(timing, now) ?? 'never') }, jobJson({ ...job, timing }, now));
    },
  }),
  ...(['enable', 'disable'] as const).map(
    (verb) => defineCommand({
      words: ['schedule', verb],
      summary: verb === 'enable' ? 'Let a job run again' : 'Stop a job from running (kept)',
      args: [{ name: 'job', type: jobArg(true) }],
      json: jobShape,
      run(ctx, args) {
        const job = mustFind(ctx, args.job);
        const now = new Date();
        ctx.store.schedule.setEnabled(job.name, verb === 'enable', now);
        return reply.tree({ job: job.name, enabled: verb === 'enable' ? 'yes' : 'no' }, jobJson({ ...job, enabled: verb === 'enable' }, now));
      },
    }),
  ),
  defineCommand({
    words: ['schedule', 'del'],
    summary: 'Delete a scheduled job and its log',
    json: messageShape,
    args: [{ name: 'job', type: jobArg(true) }],
    run(ctx, args) {
      const job = mustFind(ctx, args.job);
      if (!ctx.store.schedule.delete(job.name)) throw badInput('no-such-job', `no scheduled job named ${job.name}; see "schedule list"`);
      return reply.text(`deleted job ${job.name}`);
    },
  }),
  defineCommand({
    words: ['schedule', 'list'],
    summary: 'List your scheduled jobs (an administrator: every job): command, owner, time, next run',
    json: json.array(jobShape),
    run(ctx) {
      const now = new Date();
      const jobs = jobsOf(ctx);
      return reply.table(
        ['job', 'command', 'owner', 'runs', 'enabled', 'next run'],
        jobs.map((j) => [j.name, j.words.join(' '), j.owner, describeTiming(j.timing), j.enabled ? 'yes' : 'no', j.enabled ? formatTime(nextDue(j.timing, now) ?? 'never') : '-']),
        jobs.map((j) => jobJson(j, now)),
      );
    },
  }),
  defineCommand({
    words: ['schedule', 'log'],
    summary: "A job's last runs: time, exit status, output",
    json: json.object({ job: json.string(), runs: json.array(json.object({ started: json.time(), due: json.time(), outcome: json.oneOf('ok', 'failed', 'skipped'), exitStatus: json.nullable(json.integer()), output: json.nullable(json.string()) })) }),
    args: [{ name: 'job', type: jobArg(true) }],
    run(ctx, args) {
      const job = mustFind(ctx, args.job);
      const runs = ctx.store.schedule.runs(job.name);
      if (!runs.length) return reply.text(`${job.name} has not run yet`, { job: job.name, runs: [] });
      return reply.blocks(
        runs.map((r) => ({ kind: 'text' as const, text: `${formatTime(r.startedAt)} ${r.outcome}${r.exitStatus !== null ? ` (exit ${r.exitStatus})` : ''}\n${(r.output ?? '').trimEnd()}` })),
        { job: job.name, runs: runs.map((r) => ({ started: r.startedAt, due: r.due, outcome: r.outcome, exitStatus: r.exitStatus, output: r.output })) },
      );
    },
  }),
  defineCommand({
    words: ['schedule', 'run'],
    summary: 'Run a job now, as its owner; the run is recorded in its log',
    json: json.object({ job: json.string(), outcome: json.oneOf('ok', 'failed', 'skipped'), exitStatus: json.nullable(json.integer()), output: json.nullable(json.string()) }),
    args: [{ name: 'job', type: jobArg(true) }],
    async run(ctx, args) {
      const job = mustFind(ctx, args.job);
      if (!ctx.services.scheduler) throw failure('no-scheduler', 'the schedule subsystem is not running in this daemon');
      const run = await ctx.services.scheduler.runNow(job);
      const status = run.exitStatus !== null ? ` (exit ${run.exitStatus})` : '';
      return reply.blocks(
        [{ kind: 'text', text: `${job.name} ${run.outcome}${status}\n${(run.output ?? '').trimEnd()}`.trimEnd() }],
        { job: job.name, outcome: run.outcome, exitStatus: run.exitStatus, output: run.output },
        run.outcome === 'ok' ? 0 : 1,
      );
    },
  }),
];

export const scheduleGroup: Group = { word: 'schedule', summary: 'scheduled jobs', commands };
