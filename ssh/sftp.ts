// scp and sftp for console users: OpenSSH's own sftp-server, run in a
// sandbox whose only writable place is the media folder. sshd runs the sftp
// subsystem through the login shell, the console, which starts the sandbox
// here (a chroot by sshd would lock the console itself out). bubblewrap
// builds it from namespaces the user may create: a read-only root holding
// the server and its libraries, /dev/null, an /etc that is empty by the time
// the client speaks, and media/ as /media, the one writable place. Nothing
// of the host's files can be named, written or linked to from inside.
//
// The server's log says what each client did; it becomes the audit log's
// record of the session (who sent or fetched which file, what was refused).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, posix } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditOutcome } from '../store/audit.js';

export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** Links could lead the daemon, which reads media as root, to other files. */
const DENIED_REQUESTS = ['symlink', 'hardlink'];

/**
 * The shared libraries a program loads, by absolute path (what `ldd` lists).
 * Synchronous on purpose: it runs in the console's own process (one per SFTP
 * session), never in platformd.
 */
export function sharedLibraries(program: string): string[] {
  const result = spawnSync('ldd', [program], { encoding: 'utf8' });
  return [...result.stdout.matchAll(/(?:=> )?(\/\S+) \(0x/g)].map((m) => m[1]!);
}

export interface Sandbox {
  media: string;
  libraries: string[];
  /** A folder of the console's own holding the account line sftp-server looks itself up in; bound as /etc. */
  etc: string;
}

/** The bubblewrap command line that runs sftp-server over media. */
export function sandboxArgs({ media, libraries, etc }: Sandbox): string[] {
  return [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    ...[SFTP_SERVER, ...libraries].flatMap((file) => ['--ro-bind', file, file]),
    '--dev-bind', '/dev/null', '/dev/null',
    '--ro-bind', etc, '/etc',
    '--bind', media, '/media',
    '--remount-ro', '/',
    '--chdir', '/',
    SFTP_SERVER,
    // Paths start at the sandbox's root, so `scp file host:media/` lands in media.
    '-d', '/',
    '-P', DENIED_REQUESTS.join(','),
    '-l', 'VERBOSE',
    '-e',
  ];
}

export interface TransferEvent {
  words: string;
  outcome: AuditOutcome;
  message?: string;
}

/**
 * An operation sftp-server logged before running it:
 * - an open is a transfer: done at its close, failed at a status line;
 * - others went through unless a status line follows at once;
 * - a refused request is also logged while the server lists its extensions:
 *   only a status line after it means a client asked for it.
 */
type Pending = { kind: 'open' | 'done'; verb: string; paths: string[] } | { kind: 'denied'; verb: string };

const quoted = '"((?:[^"\\\\]|\\\\.)*)"';
const OPERATIONS: [RegExp, (m: RegExpExecArray) => Pending][] = [
  [new RegExp(`^open ${quoted} flags (\\S+)`), (m) => ({ kind: 'open', verb: m[2]!.includes('WRITE') ? 'put' : 'get', paths: [m[1]!] })],
  [new RegExp(`^(remove|rmdir) name ${quoted}`), (m) => ({ kind: 'done', verb: m[1]!, paths: [m[2]!] })],
  [new RegExp(`^mkdir name ${quoted}`), (m) => ({ kind: 'done', verb: 'mkdir', paths: [m[1]!] })],
  [new RegExp(`^(?:posix-)?rename old ${quoted} new ${quoted}`), (m) => ({ kind: 'done', verb: 'rename', paths: [m[1]!, m[2]!] })],
  [/^Refusing denylisted (\S+) request/, (m) => ({ kind: 'denied', verb: m[1]! })],
];

/** The audit words: paths of the sandbox as the client sees them from its start folder ("media/cert.pem"). */
const wordsOf = (pending: { verb: string; paths: string[] }) => ['sftp', pending.verb, ...pending.paths.map((p) => p.replace(/^\//, ''))].join(' ');
const insideMedia = (paths: string[]) => paths.every((p) => posix.normalize(p).startsWith('/media/'));

/** Turns sftp-server's log lines into audit events. */
export class TransferLog {
  private pending?: Pending;

  constructor(private readonly report: (event: TransferEvent) => void) {}

  line(text: string): void {
    const pending = this.pending;
    const close = /^close "(.*)" bytes read (\d+) written (\d+)/.exec(text);
    const status = /^sent status (.+)$/.exec(text)?.[1];
    if (pending?.kind === 'open' && close) {
      this.pending = undefined;
      return this.report({ words: wordsOf(pending), outcome: 'ok', message: `${pending.verb === 'put' ? close[3] : close[2]} bytes` });
    }
    if (pending && status) {
      this.pending = undefined;
      if (pending.kind === 'denied') return this.report({ words: `sftp ${pending.verb}`, outcome: 'refused', message: 'links are not allowed in media' });
      const inside = insideMedia(pending.paths);
      return this.report({ words: wordsOf(pending), outcome: inside ? 'failed' : 'refused', message: inside ? status : `outside media (${status})` });
    }
    this.settle();
    for (const [pattern, operation] of OPERATIONS) {
      const match = pattern.exec(text);
      if (match) {
        this.pending = operation(match);
        return;
      }
    }
  }

  /** At the end of the session: a transfer that never closed was cut short. */
  end(): void {
    const pending = this.pending;
    if (pending?.kind === 'open') {
      this.pending = undefined;
      this.report({ words: wordsOf(pending), outcome: 'failed', message: 'the session ended during the transfer' });
    }
    this.settle();
  }

  /** Anything but a status line after an operation: it went through. */
  private settle(): void {
    const pending = this.pending;
    if (pending?.kind === 'open') return;
    this.pending = undefined;
    if (pending?.kind === 'done') this.report({ words: wordsOf(pending), outcome: 'ok' });
  }
}

/**
 * Serves SFTP on this process's stdin/stdout, confined to `mediaDir`, until
 * the client leaves. Returns the exit status for sshd.
 */
export async function serveMedia(mediaDir: string, report: (event: TransferEvent) => void): Promise<number> {
  const me = userInfo();
  // sftp-server looks its own account up as it starts. The line is removed
  // once it says so, and only then does it get the client's first byte.
  const etc = mkdtempSync(join(tmpdir(), 'platform-sftp-'));
  const passwd = join(etc, 'passwd');
  writeFileSync(passwd, `${me.username}:x:${me.uid}:${me.gid}::/:/usr/sbin/nologin\n`, { mode: 0o400 });
  const log = new TransferLog(report);
  const problems: string[] = [];
  try {
    const child = spawn('bwrap', sandboxArgs({ media: realpathSync(mediaDir), libraries: sharedLibraries(SFTP_SERVER), etc }), { stdio: ['pipe', 'inherit', 'pipe'], env: {} });
    child.stdin.on('error', () => {}); // the server may go first; the client then sees the channel close
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.startsWith('session opened')) {
        rmSync(passwd, { force: true });
        process.stdin.pipe(child.stdin);
      } else if (line.startsWith('bwrap:')) problems.push(line.slice('bwrap:'.length).trim());
      else log.line(line);
    });
    const status = await new Promise<number>((resolve) => {
      child.on('error', (error) => {
        problems.push((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'bubblewrap (bwrap) is not installed' : error.message);
        resolve(1);
      });
      child.on('close', (code) => resolve(code ?? 1));
    });
    process.stdin.unpipe(child.stdin);
    process.stdin.destroy();
    log.end();
    if (problems.length) {
      process.stderr.write(`platform: the file transfer sandbox could not start: ${problems.join('; ')}\n`);
      report({ words: 'sftp session', outcome: 'failed', message: problems.join('; ') });
    }
    return status;
  } finally {
    rmSync(etc, { recursive: true, force: true });
  }
}
