// Stopping is bounded: SIGTERM ends a real platformd within 5 s whatever it
// is doing (a scheduled job that never ends, a console following a log, a
// notification to a mail relay or an SNMP manager that never answers, a
// restore), removes its pid file and socket, and leaves nothing half-done:
// the job is recorded as cancelled, the undelivered message stays in the
// outbox for the next start, the node starts again after a restore cut
// short. A scheduled job has a time bound, and never holds back another.

import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, PLATFORM, ROOT, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { until } from '../support/until.js';
import { stopBounded, type StopStep } from '../../daemon/shutdown.js';
import { stopping } from '../../daemon/stopping.js';

/** The bound the design promises (DESIGN.md, "Stopping is bounded"). */
const BOUND_MS = 5000;

const daemons: RunningDaemon[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0).reverse()) await d.stop(); // the last first: a restarted one shares its home
  for (const s of servers.splice(0)) s.close();
});

async function started(options: Parameters<typeof startDaemon>[0] = {}): Promise<RunningDaemon> {
  const daemon = await startDaemon(options);
  daemons.push(daemon);
  return daemon;
}

/** SIGTERM, and how long until the process is gone. */
async function sigterm(daemon: RunningDaemon): Promise<{ ms: number; code: number | null }> {
  const exited = new Promise<number | null>((resolve) => daemon.process.once('exit', (code) => resolve(code)));
  const start = performance.now();
  daemon.process.kill('SIGTERM');
  const code = await exited;
  return { ms: performance.now() - start, code };
}

/** What a clean stop leaves: no pid file, no socket, and the daemon's own account of its steps. */
function expectCleanStop(daemon: RunningDaemon, stop: { ms: number; code: number | null }): void {
  expect(stop.ms, daemon.output()).toBeLessThan(BOUND_MS);
  expect(stop.code, daemon.output()).toBe(0);
  expect(existsSync(join(daemon.home, 'run', 'platformd.pid'))).toBe(false);
  expect(existsSync(join(daemon.home, 'run', 'platformd.sock'))).toBe(false);
  const log = readFileSync(join(daemon.home, 'logs', 'platformd.log'), 'utf8');
  expect(log).toMatch(/info stopped in \d+ ms \(requests \d+ ms, events \d+ ms, .*firewall \d+ ms, store \d+ ms\)/);
}

/** A job that is due at once: created two hours ago, every hour. */
function addDueJob(home: string, name: string, words: string[]): void {
  const db = new Database(join(home, 'config.db'));
  db.prepare("INSERT INTO schedule_jobs (name, owner, words, timing, enabled, created_at) VALUES (?, 'root', ?, ?, 1, ?)").run(
    name,
    JSON.stringify(words),
    JSON.stringify({ kind: 'hours', every: 1 }),
    new Date(Date.now() - 2 * 3600_000).toISOString(),
  );
  db.close();
}

function runsOf(home: string, job: string): { outcome: string; exit_status: number | null; output: string }[] {
  const db = new Database(join(home, 'config.db'), { readonly: true });
  const rows = db.prepare('SELECT outcome, exit_status, output FROM schedule_runs WHERE job = ? ORDER BY id').all(job) as { outcome: string; exit_status: number | null; output: string }[];
  db.close();
  return rows;
}

/**
 * A node whose store holds scheduled jobs that are due: the daemon is
 * started once to make its store and a backup location that never answers,
 * the jobs added by SQL, and the daemon started again, which runs them at
 * once (their due time has passed).
 */
async function withJobs(jobs: [string, string[]][], env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
  const home = tempHome('ps-stop-');
  const first = await startDaemon({ home });
  // A location whose server accepts and never says a word: a job listing it waits for SSH's
  // greeting (10 s) — a long job that the schedule accepts, unlike "log follow".
  const silent = createServer(() => undefined);
  servers.push(silent);
  const port = await freePort();
  await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
  expect((await first.platform(['backup', 'add', 'silent', `sftp://backup@127.0.0.1:${port}/backups`])).status).toBe(0);
  await first.stop({ keepHome: true });
  // Trusted as if "keys add" had seen it: the key never matters, since no greeting ever comes.
  mkdirSync(join(home, 'etc', 'ssh'), { recursive: true });
  appendFileSync(join(home, 'etc', 'ssh', 'known_hosts'), `[127.0.0.1]:${port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm9lZ3VzS2V5Rm9yQVNpbGVudFNlcnZlcjAwMDAw\n`);
  for (const [name, words] of jobs) addDueJob(home, name, words);
  return started({ home, env: withoutCI(env) });
}

/** A job that runs until something stops it: waiting on the silent location's SSH greeting. */
const LONG_JOB = ['backup', 'list', 'silent'];

describe('SIGTERM ends platformd within 5 s', () => {
  it('while a scheduled job waits on a server that never answers; the run is recorded as cancelled', async () => {
    const daemon = await withJobs([['forever', LONG_JOB]]);
    // Running: the first pass starts it at once, and it stays until cancelled.
    await new Promise((r) => setTimeout(r, 700));
    expect(runsOf(daemon.home, 'forever')).toEqual([]);
    expectCleanStop(daemon, await sigterm(daemon));
    expect(runsOf(daemon.home, 'forever')).toEqual([{ outcome: 'failed', exit_status: 1, output: 'cancelled: platformd is stopping' }]);
  });

  it('while a console client follows a log: the client sees the stop coming and ends too', async () => {
    const daemon = await started();
    const log = join(daemon.home, 'logs', 'platformd.log');
    const client = spawn(process.execPath, [PLATFORM, '--home', daemon.home, 'log', 'follow', 'platform/platformd.log'], { stdio: ['ignore', 'pipe', 'pipe'], env: withoutCI() });
    let seen = '';
    client.stdout.on('data', (d) => (seen += d));
    client.stderr.on('data', (d) => (seen += d));
    const clientExit = new Promise<number | null>((resolve) => client.once('exit', (code) => resolve(code)));
    // Following: a line added to the file reaches the client.
    await until('the client to follow the log', () => (appendFileSync(log, 'marker of the follow\n'), seen.includes('marker of the follow')), 10_000, 300);
    const stop = await sigterm(daemon);
    expectCleanStop(daemon, stop);
    // The client was still following when the daemon stopped: it is told why its stream ended, and ends with it.
    const code = await Promise.race([clientExit, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the client did not end: ${seen}`)), BOUND_MS))]);
    expect(seen).toContain('WARNING: platformd stopped while this command ran');
    expect(code).toBe(0);
  });

  it('while a notification waits on a mail relay that accepts and never answers; the message stays queued', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((socket) => accepted.push(socket)); // accepts, says nothing: no SMTP greeting
    servers.push(silent);
    const port = freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    const daemon = await started();
    for (const words of [['notify', 'emailrelay', `127.0.0.1:${port}`], ['notify', 'add', 'error', 'mailto:ops@example.test'], ['notify', 'test', 'error']]) {
      const result = await daemon.platform(words);
      expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
    }
    await until('the deliverer to connect to the relay', () => accepted.length > 0, 10_000);
    expectCleanStop(daemon, await sigterm(daemon));
    expect(daemon.output()).toMatch(/notify: delivery to mailto:ops@example\.test abandoned, platformd is stopping; 1 messages stay in the outbox/);
    const db = new Database(join(daemon.home, 'config.db'), { readonly: true });
    expect(db.prepare("SELECT name FROM outbox").all()).toEqual([{ name: 'notify-test' }]);
    db.close();
    for (const socket of accepted) socket.destroy();
  });

  it('while an SNMP inform waits for an acknowledgement that never comes (the console\'s Ctrl-D waited 6 s for it)', async () => {
    const daemon = await started();
    // Nothing listens there: the inform is repeated for 6 s before it fails.
    for (const words of [['notify', 'add', 'error', `snmp://public@127.0.0.1:${freePort()}`], ['notify', 'test', 'error']]) {
      const result = await daemon.platform(words);
      expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
    }
    await new Promise((r) => setTimeout(r, 500));
    expectCleanStop(daemon, await sigterm(daemon));
    expect(daemon.output()).toMatch(/notify: delivery to snmp:\/\/\*\*\*@127\.0\.0\.1:\d+ abandoned, platformd is stopping; 1 messages stay in the outbox/);
  });

  it('while a restore runs an app\'s restore command: the command is ended, and the node starts again on a whole store', async () => {
    const daemon = await started();
    const locationDir = tempHome('ps-stop-backups-');
    // An app whose restore never ends by itself; the sleep's length marks it among the machine's processes.
    const marker = `${70 + (process.pid % 1000) / 1000}`;
    writeFileSync(join(daemon.home, 'etc', 'apps.json'), JSON.stringify([{ name: 'slowdb', service: 'database', dump: ['echo', 'rows'], restore: ['sleep', marker] }]));
    for (const words of [['backup', 'add', 'local', `file://${locationDir}`], ['backup', 'key', 'generate'], ['backup', 'create', 'local']]) {
      const result = await daemon.platform(words);
      expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
    }
    const client = spawn(process.execPath, [PLATFORM, '--home', daemon.home, 'backup', 'restore', 'local', '--yes'], { stdio: ['ignore', 'pipe', 'pipe'], env: withoutCI() });
    let seen = '';
    client.stdout.on('data', (d) => (seen += d));
    client.stderr.on('data', (d) => (seen += d));
    const clientExit = new Promise<number | null>((resolve) => client.once('exit', (code) => resolve(code)));
    const restoring = () => execFileSync('ps', ['-eo', 'args']).toString().split('\n').some((line) => line.trim() === `sleep ${marker}`);
    await until('the app\'s restore command to run', restoring, 20_000);
    expectCleanStop(daemon, await sigterm(daemon));
    expect(restoring()).toBe(false);
    expect(await clientExit).not.toBe(0);
    expect(seen).toMatch(/slowdb's restore command/);
    // The store was swapped in whole before the app's step: the node starts on it and answers.
    const again = await started({ home: daemon.home });
    const info = await again.platform(['system', 'info']);
    expect(info.status, info.stderr).toBe(0);
  });

  it('when nobody reads its stderr any more (the parent that did is gone): no error loop, it serves and stops', async () => {
    const daemon = await started();
    // The read ends of its stdout and stderr close, as when the process that spawned it dies.
    daemon.process.stdout!.destroy();
    daemon.process.stderr!.destroy();
    const info = await daemon.platform(['system', 'info']);
    expect(info.status, info.stderr).toBe(0);
    expectCleanStop(daemon, await sigterm(daemon));
    const log = readFileSync(join(daemon.home, 'logs', 'platformd.log'), 'utf8');
    expect(log).not.toMatch(/EPIPE/);
    expect(log).toMatch(/info SIGTERM: stopping\n.*info stopped in \d+ ms/);
  });

  it('and systemd allows it more than that before it kills the unit', () => {
    const unit = readFileSync(join(ROOT, 'packer', 'systemd', 'platformd.service'), 'utf8');
    const stopSec = /^TimeoutStopSec=(\d+)s$/m.exec(unit);
    expect(stopSec).not.toBeNull();
    expect(Number(stopSec![1]) * 1000).toBeGreaterThan(BOUND_MS);
  });
});

describe('a scheduled job', () => {
  it('is cancelled at its time bound and recorded as failed, and never holds back another job', async () => {
    const daemon = await withJobs(
      [
        ['a-forever', LONG_JOB],
        ['b-quick', ['system', 'info']],
      ],
      { PLATFORM_JOB_TIME_BOUND_MS: '3000' },
    );
    // The quick job ran while the endless one (listed first) still ran.
    const quick = await until('the quick job to run', () => runsOf(daemon.home, 'b-quick')[0], 10_000);
    expect(quick).toMatchObject({ outcome: 'ok', exit_status: 0 });
    expect(runsOf(daemon.home, 'a-forever')).toEqual([]);
    const bounded = await until('the endless job to be cancelled', () => runsOf(daemon.home, 'a-forever')[0], 10_000);
    expect(bounded).toEqual({ outcome: 'failed', exit_status: 1, output: 'cancelled after 3 s, the time bound of a scheduled job' });
    expect(daemon.output()).toMatch(/warn schedule a-forever: cancelled after 3 s/);
    // The daemon is not stuck: it answers, and stops in time.
    expect((await daemon.platform(['schedule', 'log', 'a-forever'])).stdout).toContain('cancelled after 3 s');
    expectCleanStop(daemon, await sigterm(daemon));
  });
});

describe('the stop sequence', () => {
  const never = () => new Promise(() => undefined);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function run(steps: StopStep[], limits = { requestsMs: 100, stepMs: 100, deadlineMs: 1000 }) {
    const logged: string[] = [];
    const exits: number[] = [];
    const ended = new Promise<void>((resolve) =>
      void stopBounded(steps, {
        log: (level, message) => logged.push(`${level} ${message}`),
        exit: (status) => (exits.push(status), resolve()),
        limits,
      }),
    );
    await ended;
    await sleep(50); // nothing runs after the exit
    return { logged, exits };
  }

  it('tells everything in flight, runs each step in order and names the time each took', async () => {
    const order: string[] = [];
    const { logged, exits } = await run([
      { name: 'one', stop: () => order.push('one') },
      { name: 'two', stop: async () => (await sleep(20), order.push('two')) },
    ]);
    expect(stopping.signal.aborted).toBe(true);
    expect(order).toEqual(['one', 'two']);
    expect(exits).toEqual([0]);
    expect(logged).toEqual([expect.stringMatching(/^info stopped in \d+ ms \(one \d+ ms, two \d+ ms\)$/)]);
  });

  it('goes on without a step that hangs or fails', async () => {
    const order: string[] = [];
    const { logged, exits } = await run([
      { name: 'stuck', stop: never },
      { name: 'broken', stop: () => Promise.reject(new Error('no such thing')) },
      { name: 'last', stop: () => order.push('last') },
    ]);
    expect(order).toEqual(['last']);
    expect(exits).toEqual([0]);
    expect(logged.slice(0, 2)).toEqual(['error stopping: stuck did not stop within 0.1 s; going on without it', 'error stopping broken: no such thing']);
  });

  it('exits anyway at the overall deadline, naming the step it waited for', async () => {
    const order: string[] = [];
    const { logged, exits } = await run(
      [
        { name: 'slow', stop: () => sleep(150).then(() => order.push('slow')) },
        { name: 'endless', stop: never, deadlineMs: 10_000 },
        { name: 'never reached', stop: () => order.push('never reached') },
      ],
      { requestsMs: 100, stepMs: 5000, deadlineMs: 1000 },
    );
    expect(exits).toEqual([1]);
    expect(order).toEqual(['slow']);
    expect(logged).toEqual([expect.stringMatching(/^error stopping: endless did not stop within 1 s; exiting anyway \(stopped: slow \d+ ms\)$/)]);
  });
});
