// The daemon's own log rotation (the embedded default; an appliance uses
// logrotate with the same policy, packer/systemd/platform.logrotate): daily, 28
// kept, compressed. x.log is copied to x.log.1.gz and truncated (nginx and
// platformd keep appending to the same file), older copies move up one, and
// the 29th goes.

import { createReadStream, createWriteStream, existsSync, readdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export const KEEP = 28;

/** Rotates every *.log of the folder that holds something; resolves when done. */
export async function rotateLogs(dir: string, keep = KEEP): Promise<string[]> {
  const rotated: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
    const file = join(dir, name);
    const stat = statSync(file);
    if (!stat.isFile() || stat.size === 0) continue;
    rmSync(`${file}.${keep}.gz`, { force: true });
    for (let n = keep - 1; n >= 1; n--) if (existsSync(`${file}.${n}.gz`)) renameSync(`${file}.${n}.gz`, `${file}.${n + 1}.gz`);
    await pipeline(createReadStream(file, { end: stat.size - 1 }), createGzip(), createWriteStream(`${file}.1.gz.new`, { mode: 0o640 }));
    renameSync(`${file}.1.gz.new`, `${file}.1.gz`);
    truncateSync(file, 0);
    rotated.push(name);
  }
  return rotated;
}

/** Milliseconds until the next local midnight. */
export function untilMidnight(now = new Date()): number {
  const next = new Date(now);
  next.setHours(24, 0, 0, 0);
  return next.getTime() - now.getTime();
}
