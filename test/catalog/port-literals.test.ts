// "No port number is written anywhere else" (DESIGN.md, one catalog, many
// views): a heuristic scan of the product's code, outside catalog/, for the
// catalog's port numbers. A port of four or five digits (8443, 27017) is
// flagged wherever it appears; a shorter one (22, 25, 53, 80, 123, 443, ...)
// only on a line that speaks of ports or transports, since 80 columns and
// padEnd(22) are not ports. Comments are left out: they may explain.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_PORTS, EXTERNAL_FLOWS, NODE_FLOWS, PRIMARY_FLOW } from '../../catalog/flows.js';
import { SERVICES } from '../../catalog/services.js';

const root = resolve(__dirname, '../..');
/** Folders that are not the product (or are the catalog itself). */
const NOT_SCANNED = new Set(['catalog', 'node_modules', 'dist', 'test', 'bench', 'scripts', 'packer', 'bin', '.git', '.runtime']);

/**
 * Lines that may hold a catalog port number, each with its reason. Keyed by
 * file and the line's trimmed text, so an entry stops matching when the line changes.
 */
const ALLOWED: { file: string; line: RegExp; reason: string }[] = [];

const catalogPorts = new Set<number>([
  ...SERVICES.flatMap((s) => s.ports.map((p) => p.port)),
  ...NODE_FLOWS.flatMap((f) => f.ports.map((p) => p.port)),
  ...EXTERNAL_FLOWS.flatMap((f) => f.ports.map((p) => p.port)),
  ...PRIMARY_FLOW.ports.map((p) => p.port),
  ...Object.values(CLIENT_PORTS),
]);

const PORT_CONTEXT = /(?<![A-Za-z])ports?\b|[a-z]Ports?\b|dport|tcp|udp|listen/i;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry) && !entry.endsWith('.d.ts') ? [path] : [];
  });
}

/** The code of a file without its comments, line by line (line numbers kept). */
export function codeLines(text: string): string[] {
  const withoutBlocks = text.replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ' '));
  // A `//` after the start or a space begins a comment; `sftp://` inside a string does not.
  return withoutBlocks.split('\n').map((line) => line.replace(/(^|\s)\/\/.*$/, '$1'));
}

/** The catalog port literals of one line of code, by the heuristic above. */
export function portLiterals(line: string, ports: ReadonlySet<number>): number[] {
  const found: number[] = [];
  for (const match of line.matchAll(/(?<![\w.])\d+(?![\w.])/g)) {
    const value = Number(match[0]);
    if (!ports.has(value)) continue;
    if (value >= 1000 || PORT_CONTEXT.test(line)) found.push(value);
  }
  return found;
}

describe('catalog port numbers outside catalog/', () => {
  it('finds the literals it is meant to find', () => {
    expect(portLiterals("const port = uri.port ?? 22;", catalogPorts)).toEqual([22]);
    expect(portLiterals('    return { 443: webPorts.https, 80: webPorts.http, 8443: clusterPort };', catalogPorts)).toEqual([443, 80, 8443]);
    expect(portLiterals("add(`DNS ${server} TCP 53`, probeTcp(server, 53));", catalogPorts)).toEqual([53, 53]);
    expect(portLiterals("if (relay) add(`mail relay`, probeTcp(relay, 25));", catalogPorts)).toEqual([25]);
    expect(portLiterals('const map = { 27017: 1 };', catalogPorts)).toEqual([27017]);
    // Not ports: a column width, a padding, a decimal.
    expect(portLiterals('columns(candidates, terminal.columns || 80)', catalogPorts)).toEqual([]);
    expect(portLiterals("const line = `|-${name.padEnd(22)}`;", catalogPorts)).toEqual([]);
    expect(portLiterals('const ratio = 0.25; // port', catalogPorts)).toEqual([]);
    expect(codeLines("const a = 'sftp://x'; // port 22\n/* 443 */ const b = 1;")).toEqual(["const a = 'sftp://x'; ", '          const b = 1;']);
  });

  it('appear nowhere in product code but the catalog (and the allow-list, each with its reason)', () => {
    const folders = readdirSync(root).filter((entry) => !NOT_SCANNED.has(entry) && !entry.startsWith('.') && statSync(join(root, entry)).isDirectory());
    const offending: string[] = [];
    const used = new Set<(typeof ALLOWED)[number]>();
    for (const file of folders.flatMap((folder) => sourceFiles(join(root, folder)))) {
      const name = relative(root, file);
      codeLines(readFileSync(file, 'utf8')).forEach((line, index) => {
        const ports = portLiterals(line, catalogPorts);
        if (ports.length === 0) return;
        const allowed = ALLOWED.find((a) => a.file === name && a.line.test(line.trim()));
        if (allowed) used.add(allowed);
        else offending.push(`${name}:${index + 1}: ${ports.join(', ')}: ${line.trim()}`);
      });
    }
    expect(offending).toEqual([]);
    // An allow-list entry nothing needs any more is removed, not kept "just in case".
    expect(ALLOWED.filter((a) => !used.has(a)).map((a) => `${a.file} ${a.line}`)).toEqual([]);
    for (const entry of ALLOWED) expect(entry.reason.length).toBeGreaterThan(20);
  });
});
