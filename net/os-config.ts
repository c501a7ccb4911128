// On an appliance the network settings are also written to the operating
// system's own files, each atomically (written aside, then renamed):
// /etc/hostname, /etc/resolv.conf and chrony's sources. PLATFORM_OS_ROOT
// moves that root (tests, image builds); the embedded default never calls this.

import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileInside } from '../os/files.js';
import type { NodeSettings } from '../store/node.js';

export const osRoot = () => process.env.PLATFORM_OS_ROOT ?? '/';

/** The files and their contents for a node's settings: one table, one writer. */
export function osFiles(node: NodeSettings): { path: string; content: string }[] {
  const resolv = [
    '# Written by platformd from "network domain" and "network dns".',
    ...(node.domain ? [`search ${node.domain}`] : []),
    ...node.dns.map((server) => `nameserver ${server}`),
    '',
  ].join('\n');
  const chrony = ['# Written by platformd from "network ntp".', ...node.ntp.map((server) => `server ${server} iburst`), ''].join('\n');
  return [
    { path: 'etc/hostname', content: `${node.hostname}\n` },
    { path: 'etc/resolv.conf', content: resolv },
    { path: 'etc/chrony/sources.d/platform.sources', content: chrony },
  ];
}

export function writeOsFiles(node: NodeSettings, root = osRoot()): string[] {
  const written: string[] = [];
  for (const file of osFiles(node)) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    // Read by every user (resolv.conf): the mode is set on the file, past the daemon's umask.
    written.push(writeFileInside(dirname(path), basename(path), file.content, 0o644));
  }
  return written;
}
