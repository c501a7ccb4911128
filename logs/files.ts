// The logs `log list|view|follow|send` reach, by name: the platform's own,
// nginx's and the audit log, each under a "group/file" name as the reference
// appliance shows them (`log view platform/platformd.log`), typed as any
// unique prefix. Only names from this list are ever opened: a typed name is
// matched against it, never joined to a path.

import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface LogFile {
  /** What a person types: group/file. */
  name: string;
  /** The file on disk; absent for the audit log, which lives in the store. */
  path?: string;
}

/** Which group a file of the logs folder belongs to, by its name (rotated copies included). */
const GROUPS: readonly { pattern: RegExp; group: string; file: (name: string) => string }[] = [
  { pattern: /^platformd\.log(\.\d+\.gz)?$/, group: 'platform', file: (n) => n },
  { pattern: /^nginx-(access|error)\.log(\.\d+\.gz)?$/, group: 'nginx', file: (n) => n.replace(/^nginx-/, '') },
];

export const AUDIT_LOG = 'audit/audit.log';
/** What `log view` shows at most: the end of a longer file. */
export const VIEW_MAX_BYTES = 8 * 1024 * 1024;

export function logFiles(logsDir: string): LogFile[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(logsDir);
  } catch {
    // no logs yet
  }
  const out: LogFile[] = [];
  for (const entry of entries.sort(byRotation)) {
    const rule = GROUPS.find((g) => g.pattern.test(entry));
    if (rule) out.push({ name: `${rule.group}/${rule.file(entry)}`, path: join(logsDir, entry) });
  }
  out.push({ name: AUDIT_LOG });
  return out;
}

/** x.log, x.log.1.gz, x.log.2.gz ... in that order. */
function byRotation(a: string, b: string): number {
  const key = (n: string) => {
    const m = /^(.*?)(?:\.(\d+)\.gz)?$/.exec(n)!;
    return [m[1]!, Number(m[2] ?? 0)] as const;
  };
  const [an, ai] = key(a);
  const [bn, bi] = key(b);
  return an === bn ? ai - bi : an < bn ? -1 : 1;
}

export class LogNameError extends Error {}

/** The one log a typed name means: an exact name, or the only one it is a prefix of. */
export function resolveLog(files: LogFile[], typed: string): LogFile {
  const exact = files.find((f) => f.name === typed);
  if (exact) return exact;
  const matches = files.filter((f) => f.name.startsWith(typed));
  if (matches.length === 1) return matches[0]!;
  const shown = typed.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
  if (matches.length === 0) throw new LogNameError(`no log is called "${shown}"; see "log list"`);
  throw new LogNameError(`"${shown}" could be ${matches.slice(0, 6).map((f) => f.name).join(', ')}${matches.length > 6 ? ', ...' : ''}; type more of the name`);
}

/** The end of a log file (at most `maxBytes`), opened once without following links; .gz copies uncompressed. */
export function readLogTail(path: string, maxBytes = VIEW_MAX_BYTES): { text: string; truncated: boolean } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new LogNameError('not a regular file');
    if (path.endsWith('.gz')) {
      const compressed = Buffer.alloc(Math.min(stat.size, 64 * 1024 * 1024));
      readSync(fd, compressed, 0, compressed.length, 0);
      const data = gunzipSync(compressed, { maxOutputLength: 256 * 1024 * 1024 });
      return { text: data.subarray(Math.max(0, data.length - maxBytes)).toString('utf8'), truncated: data.length > maxBytes };
    }
    const length = Math.min(stat.size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, stat.size - length);
    return { text: buffer.toString('utf8'), truncated: stat.size > maxBytes };
  } finally {
    closeSync(fd);
  }
}
