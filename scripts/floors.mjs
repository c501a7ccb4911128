#!/usr/bin/env node
// Measures the folder graph against the floors of DESIGN.md: an import may go
// to its own floor or below, never up, and no two files or folders may need
// each other in a loop. Prints the counts and each offending import.
//
//   node scripts/floors.mjs              # report, exit 1 when anything breaks the rule
//   node scripts/floors.mjs --json       # the same as data
//   node scripts/floors.mjs --root DIR   # another checkout (e.g. an older commit's worktree)

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const thisCheckout = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The floors, lowest first. A folder not listed here is reported as unknown. */
export const FLOORS = [
  ['core'],
  ['os'],
  ['catalog', 'store'],
  ['apps', 'appliance', 'backup', 'certs', 'cluster', 'events', 'firewall', 'health', 'logs', 'net', 'notify', 'releases', 'schedule', 'snmp', 'ssh', 'status', 'updates', 'users', 'web'],
  ['commands'],
  ['daemon', 'shell'],
];

/** Folders outside the product's floors. */
const NOT_PRODUCT = new Set(['node_modules', 'dist', 'test', 'bench', 'scripts', 'packer', 'bin', '.git', '.runtime']);

const floorOf = new Map(FLOORS.flatMap((folders, rank) => folders.map((folder) => [folder, rank])));

function sourceFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(entry) && !entry.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const targets = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2];
    const target = resolve(dirname(file), spec).replace(/\.js$/, '');
    for (const candidate of [`${target}.ts`, `${target}.tsx`, join(target, 'index.ts')]) {
      try {
        if (statSync(candidate).isFile()) { targets.push(candidate); break; }
      } catch { /* try the next spelling */ }
    }
  }
  return targets;
}

export function measure(root = thisCheckout) {
  const folderOf = (file) => relative(root, file).split('/')[0];
  const files = readdirSync(root)
    .filter((entry) => !NOT_PRODUCT.has(entry) && !entry.startsWith('.') && statSync(join(root, entry)).isDirectory())
    .flatMap((folder) => sourceFiles(join(root, folder)));
  const graph = new Map(files.map((file) => [file, importsOf(file)]));

  const upward = [];
  const unknown = new Set();
  const folderEdges = new Map();
  let betweenFolders = 0;
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    if (!floorOf.has(from)) unknown.add(from);
    for (const target of targets) {
      const to = folderOf(target);
      if (from === to) continue;
      betweenFolders += 1;
      if (!folderEdges.has(from)) folderEdges.set(from, new Set());
      folderEdges.get(from).add(to);
      const entryPoint = from === 'shell' || relative(root, file) === 'daemon/main.ts';
      if (!entryPoint && (floorOf.get(to) ?? -1) > (floorOf.get(from) ?? -1)) {
        upward.push(`${relative(root, file)} -> ${relative(root, target)}`);
      }
    }
  }

  return {
    files: files.length,
    importsBetweenFolders: betweenFolders,
    upward,
    fileCycles: cycles(graph).map((cycle) => cycle.map((f) => relative(root, f))),
    folderCycles: cycles(new Map([...folderEdges].map(([from, to]) => [from, [...to]]))),
    unknownFolders: [...unknown],
  };
}

/** Strongly connected components with more than one member (Tarjan), each sorted. */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const info = new Map();
  const found = [];
  const visit = (node) => {
    info.set(node, { index, low: index, onStack: true });
    index += 1;
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!info.has(next)) {
        visit(next);
        info.get(node).low = Math.min(info.get(node).low, info.get(next).low);
      } else if (info.get(next).onStack) {
        info.get(node).low = Math.min(info.get(node).low, info.get(next).index);
      }
    }
    if (info.get(node).low === info.get(node).index) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        info.get(member).onStack = false;
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!info.has(node)) visit(node);
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rootFlag = process.argv.indexOf('--root');
  const report = measure(rootFlag > 0 ? resolve(process.argv[rootFlag + 1] ?? '.') : thisCheckout);
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines = [
      `${report.files} files, ${report.importsBetweenFolders} imports between folders`,
      `upward imports: ${report.upward.length}`,
      ...report.upward.map((line) => `  ${line}`),
      `file cycles: ${report.fileCycles.length}`,
      ...report.fileCycles.map((cycle) => `  ${cycle.join(' <-> ')}`),
      `folder cycles: ${report.folderCycles.length}`,
      ...report.folderCycles.map((cycle) => `  ${cycle.join(' <-> ')}`),
      ...(report.unknownFolders.length ? [`folders on no floor: ${report.unknownFolders.join(', ')}`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  const broken = report.upward.length + report.fileCycles.length + report.folderCycles.length + report.unknownFolders.length;
  process.exitCode = broken === 0 ? 0 : 1;
}
