// The one way platformd runs an external program: asynchronously (never
// spawnSync on the daemon's event loop, which would stall every other
// caller), with a time limit after which the program and its children are
// killed, a bound on the output kept, an optional stdin, and errors that
// say which program failed and why.

import { spawn, type ChildProcess } from 'node:child_process';
import { failure } from '../core/errors.js';

export interface RunOptions {
  /** Killed (SIGKILL, with its process group) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Output kept per stream; the rest is dropped and the result says so. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Written to the program's stdin, which is then closed. */
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Aborting kills the program (Ctrl-C, a client gone). */
  signal?: AbortSignal;
}

export interface RunResult {
  /** Exit status, or null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** An output stream was longer than maxOutputBytes. */
  truncated: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;

const commandText = (file: string, args: readonly string[]) => [file, ...args].join(' ').slice(0, 200);

/**
 * Runs `file args...` and resolves with its status and output, whatever the
 * status. Rejects (a failure, exit 1) only when it cannot be started, runs
 * out of time, or is cancelled.
 */
export function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout also ends what it started (tar's gzip ...).
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    let ending: Error | undefined;
    const keep = (chunks: Buffer[], size: number, chunk: Buffer): number => {
      const room = maxOutput - size;
      if (chunk.length > room) truncated = true;
      if (room > 0) chunks.push(room >= chunk.length ? chunk : chunk.subarray(0, room));
      return size + Math.min(chunk.length, Math.max(room, 0));
    };
    child.stdout.on('data', (chunk: Buffer) => (outBytes = keep(out, outBytes, chunk)));
    child.stderr.on('data', (chunk: Buffer) => (errBytes = keep(err, errBytes, chunk)));
    const kill = (reason: Error) => {
      ending ??= reason;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill(failure('process-timeout', `${commandText(file, args)} did not finish within ${(timeoutMs / 1000).toFixed(timeoutMs < 1000 ? 1 : 0)} s and was stopped`)), timeoutMs);
    const onAbort = () => kill(failure('cancelled', `${commandText(file, args)} was cancelled`));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      done();
      reject(failure('process-failed', error.code === 'ENOENT' ? `${file} is not installed on this node` : `${file} could not be run: ${error.message}`));
    });
    child.once('close', (status, signal) => {
      done();
      if (ending) return reject(ending);
      resolve({ status, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), truncated });
    });
    child.stdin.on('error', () => undefined); // a program that exits without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Like runProcess, but a non-zero status is a failure whose message ends with the program's last error lines. */
export async function runChecked(file: string, args: readonly string[], options: RunOptions & { what?: string } = {}): Promise<RunResult> {
  const result = await runProcess(file, args, options);
  if (result.status !== 0) {
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join('; ');
    throw failure('process-failed', `${options.what ?? file} failed (${result.status === null ? `killed by ${result.signal}` : `exit ${result.status}`})${said ? `: ${said}` : ''}`);
  }
  return result;
}

/**
 * Ends a program platformd supervises (nginx, snmpd): `signal` first, then
 * SIGKILL if it has not exited after `killAfterMs`; resolves once it has
 * exited. The bound keeps platformd's own stop bounded.
 */
export async function endChild(child: ChildProcess, signal: NodeJS.Signals, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}
