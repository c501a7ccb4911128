// What is actually listening on this node (in this network namespace), read
// from the kernel's socket tables: TCP in LISTEN state, bound UDP sockets.

import { readFileSync } from 'node:fs';
import type { Protocol } from '../catalog/services.js';

const TABLES: readonly { file: string; protocol: Protocol; state: string }[] = [
  { file: '/proc/net/tcp', protocol: 'tcp', state: '0A' }, // LISTEN
  { file: '/proc/net/tcp6', protocol: 'tcp', state: '0A' },
  { file: '/proc/net/udp', protocol: 'udp', state: '07' }, // unconnected, bound
  { file: '/proc/net/udp6', protocol: 'udp', state: '07' },
];

/** `port/protocol` keys of every listening socket, e.g. "443/tcp". */
export function listeningPorts(): Set<string> {
  const out = new Set<string>();
  for (const table of TABLES) {
    let text: string;
    try {
      text = readFileSync(table.file, 'utf8');
    } catch {
      continue; // no IPv6 on this host
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== table.state) continue;
      const local = fields[1]!;
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      out.add(`${port}/${table.protocol}`);
    }
  }
  return out;
}
