// On an appliance the network settings are also written to the operating
// system's own files, each atomically (written aside, then renamed):
// /etc/hostname, /etc/hosts, /etc/resolv.conf and chrony's sources, under
// os/host.ts osRoot(); the embedded default never calls this.

import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { isHostname } from '../core/argtypes.js';
import { failure } from '../core/errors.js';
import { writeFileInside } from '../os/files.js';
import { osRoot } from '../os/host.js';
import { runProcess } from '../os/processes.js';
import type { NodeSettings } from '../store/settings.js';

/** The files and their contents for a node's settings: one table, one writer. */
export function osFiles(node: NodeSettings): { path: string; content: string }[] {
  const resolv = [
    '# Written by platformd from "network domain" and "network dns".',
    ...(node.domain ? [`search ${node.domain}`] : []),
    ...node.dns.map((server) => `nameserver ${server}`),
    '',
  ].join('\n');
  // Debian's layout: the node's own name resolves without DNS (sudo, hostname -f), whatever the resolvers do.
  const names = node.domain ? `${node.hostname}.${node.domain}\t${node.hostname}` : node.hostname;
  const hosts = [
    '# Written by platformd from "network hostname" and "network domain".',
    '127.0.0.1\tlocalhost',
    `127.0.1.1\t${names}`,
    '::1\t\tlocalhost ip6-localhost ip6-loopback',
    'ff02::1\t\tip6-allnodes',
    'ff02::2\t\tip6-allrouters',
    '',
  ].join('\n');
  const chrony = ['# Written by platformd from "network ntp".', ...node.ntp.map((server) => `server ${server} iburst`), ''].join('\n');
  return [
    { path: 'etc/hostname', content: `${node.hostname}\n` },
    { path: 'etc/hosts', content: hosts },
    { path: 'etc/resolv.conf', content: resolv },
    { path: 'etc/chrony/sources.d/platform.sources', content: chrony },
  ];
}

/**
 * Each value checked again before root writes it into a system file: the
 * commands check them too, but a restored store or an older version's row
 * reaches here as well, and one newline would add a line to /etc/hosts.
 */
function checkOsValues(node: NodeSettings): void {
  const names = [node.hostname, ...(node.domain ? [node.domain] : []), ...node.ntp.filter((server) => !isIP(server))];
  const bad = [...names.filter((name) => !isHostname(name)), ...node.dns.filter((server) => !isIP(server))];
  if (bad.length > 0) throw failure('bad-os-value', `not written to the system files: ${bad.map((v) => JSON.stringify(v)).join(', ')} is not a host name or address`);
}

export function writeOsFiles(node: NodeSettings, root = osRoot()): string[] {
  checkOsValues(node);
  const written: string[] = [];
  for (const file of osFiles(node)) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    // Read by every user (resolv.conf): the mode is set on the file, past the daemon's umask.
    written.push(writeFileInside(dirname(path), basename(path), file.content, 0o644));
  }
  return written;
}

/** Runs a system program (off the event loop, with a timeout); resolves with its error text, or undefined when it worked. */
export async function runTool(file: string, args: string[], timeoutMs = 10_000): Promise<string | undefined> {
  try {
    const result = await runProcess(file, args, { timeoutMs, maxOutputBytes: 64 * 1024 });
    if (result.status === 0) return undefined;
    return (result.stderr.trim() || `exit status ${result.status ?? result.signal}`).split('\n')[0];
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * The running system follows the files: the host name changes now
 * (hostnamectl, through systemd-hostnamed), and chrony re-reads its sources.
 * Only on the real root; returns a warning for each step that failed (the
 * files are written, so the next boot applies them anyway).
 */
export async function applyOsSettings(before: NodeSettings, after: NodeSettings, root = osRoot()): Promise<string[]> {
  if (root !== '/') return [];
  const steps: [boolean, string, string[], string][] = [
    [before.hostname !== after.hostname, 'hostnamectl', ['set-hostname', after.hostname], 'the host name takes effect at the next boot'],
    [before.ntp.join() !== after.ntp.join(), 'chronyc', ['reload', 'sources'], 'chrony reads the new NTP servers when it next starts'],
  ];
  const warnings: string[] = [];
  for (const [needed, file, args, consequence] of steps) {
    if (!needed) continue;
    const error = await runTool(file, args);
    if (error) warnings.push(`${file} ${args.join(' ')} failed (${error}); ${consequence}`);
  }
  return warnings;
}
