// Starts a real platformd on a throwaway home and runs real `platform`
// commands against it. Used by every area's end-to-end tests.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const PLATFORM = join(ROOT, 'bin', 'platform.js');
export const PLATFORMD = join(ROOT, 'bin', 'platformd.js');

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunningDaemon {
  home: string;
  pid: number;
  process: ChildProcess;
  /** Runs `platform --home HOME ...words` and waits for it. */
  platform(words: string[], options?: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** SIGTERM, wait for exit; removes the home unless `keepHome`. */
  stop(options?: { keepHome?: boolean }): Promise<number | null>;
  output(): string;
}

// Below the kernel's ephemeral range (32768-60999), where listen(0) and
// outgoing connections take theirs (QEMU's forwards, clients): 20000-31999.
let nextPort = 20000 + ((process.pid * 37) % 12000);
/** A port unlikely to be taken: spread by pid, counted up within a process. */
export function freePort(): number {
  return nextPort++;
}

/** Folders made by tempHome; test/support/setup.ts removes them after each test file. */
const made: string[] = [];
export function removeTempHomes(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function tempHome(prefix = 'ps-home-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function runPlatform(home: string, words: string[], options: { env?: NodeJS.ProcessEnv; input?: string; netns?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  const [cmd, args] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, process.execPath, PLATFORM, '--home', home, ...words]]
    : [process.execPath, [PLATFORM, '--home', home, ...words]];
  return new Promise((resolvePromise) => {
    const child = execFile(cmd as string, args as string[], { env: options.env ?? withoutCI(), timeout: options.timeoutMs ?? 60_000 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ status, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

export function withoutCI(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.CI;
  delete env.SSH_ORIGINAL_COMMAND;
  delete env.SSH_CONNECTION;
  return env;
}

/** `program`: another platformd.js than the checkout's (an installed release's, test/releases). */
export async function startDaemon(options: { home?: string; args?: string[]; netns?: string; env?: NodeJS.ProcessEnv; program?: string } = {}): Promise<RunningDaemon> {
  const home = options.home ?? tempHome();
  // Each daemon gets its own web ports unless the test names them, so that
  // daemons of tests running side by side never fight over them.
  const given = options.args ?? [];
  const ports = [
    ...(given.includes('--web-port') ? [] : ['--web-port', String(freePort()), '--http-port', String(freePort())]),
    ...(given.includes('--cluster-port') ? [] : ['--cluster-port', String(freePort())]),
  ];
  const daemonArgs = [options.program ?? PLATFORMD, '--home', home, ...ports, ...given];
  const child = options.netns
    ? spawn('ip', ['netns', 'exec', options.netns, process.execPath, ...daemonArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? withoutCI() })
    : spawn(process.execPath, daemonArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? withoutCI() });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const socket = join(home, 'run', 'platformd.sock');
  const deadline = Date.now() + 30_000;
  while (!(existsSync(socket) && output.includes('serving'))) {
    if (child.exitCode !== null) throw new Error(`platformd exited ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`platformd did not start in 30 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    home,
    pid: child.pid!,
    process: child,
    platform: (words, opts) => runPlatform(home, words, { ...opts, netns: options.netns }),
    output: () => output,
    async stop(stopOptions = {}) {
      let code: number | null = child.exitCode;
      if (code === null && child.signalCode === null) {
        const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        code = await exited;
        clearTimeout(timer);
      }
      // A daemon killed by a test leaves its nginx behind: end it by its pid file.
      try {
        const nginx = Number(readFileSync(join(home, 'run', 'nginx.pid'), 'utf8').trim());
        if (nginx > 0 && readFileSync(`/proc/${nginx}/cmdline`, 'utf8').includes(home)) process.kill(nginx, 'SIGQUIT');
      } catch {
        // nginx stopped with its daemon
      }
      if (!stopOptions.keepHome && !options.home) rmSync(home, { recursive: true, force: true });
      return code;
    },
  };
}
