// Facts of the host this node runs on that several floors need: the address
// it is reached at when none is configured, and where the operating system's
// own files are (PLATFORM_OS_ROOT moves that root for tests and image builds;
// on an appliance it is /).

import { networkInterfaces } from 'node:os';
import { runProcess } from './processes.js';

/** The first non-internal IPv4 address, else IPv6. */
export function primaryAddress(): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  return (external.find((a) => a.family === 'IPv4') ?? external[0])?.address;
}

/** Where the operating system's files are: / on an appliance. */
export const osRoot = (): string => process.env.PLATFORM_OS_ROOT ?? '/';

/** What `ip -j <args>` lists (links, addresses, routes), or nothing when ip fails or answers too much. */
export async function ipJson<T>(args: string[]): Promise<T[]> {
  const result = await runProcess('ip', ['-j', ...args], { timeoutMs: 5000 });
  if (result.status !== 0 || result.truncated) return [];
  try {
    const parsed = JSON.parse(result.stdout) as unknown;
    return Array.isArray(parsed) ? (parsed as T[]) : [];
  } catch {
    return [];
  }
}
