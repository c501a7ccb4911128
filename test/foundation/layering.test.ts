// Two rules of the layout (DESIGN.md, "Layout: floors") that must never
// regress: SQL lives only in store/ (everything else reaches the database
// through the store's typed repositories), and no domain folder reaches up
// into the command tree or the console.

import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FLOORS, measure } from '../../scripts/floors.mjs';
import { ROOT } from '../support/daemon.js';

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(?:ts|tsx|mts|mjs|js)$/.test(entry) && !entry.endsWith('.d.ts') && !entry.endsWith('.d.mts') ? [path] : [];
  });

/** What gives SQL away, each with why. String literals are checked for statements, not for single words. */
const SQL_SIGNS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'opens SQLite itself', pattern: /from\s+['"]better-sqlite3['"]|require\(\s*['"]better-sqlite3['"]\s*\)/ },
  { name: 'prepares a statement', pattern: /\.prepare\s*\(/ },
  { name: 'runs a pragma', pattern: /\.pragma\s*\(/ },
  { name: 'executes SQL', pattern: /\.exec\s*\(\s*['"`]\s*(?:BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|CREATE|DROP|ALTER|INSERT|UPDATE|DELETE|SELECT|PRAGMA|ATTACH|DETACH|VACUUM)\b/i },
  {
    name: 'holds a SQL statement in a string',
    pattern: /['"`]\s*(?:SELECT\s+(?:DISTINCT\s+)?[\w*(][^'"`]*\sFROM\s|INSERT\s+(?:OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(?:TABLE|INDEX|VIEW|TRIGGER)\s|DROP\s+(?:TABLE|INDEX)\s|ALTER\s+TABLE\s|(?:ATTACH|DETACH)\s+DATABASE\s|PRAGMA\s+\w)/,
  },
];

/** Lines of `text` that show SQL, as "file:line: why". */
function sqlIn(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => SQL_SIGNS.filter((sign) => sign.pattern.test(line)).map((sign) => `${relative(ROOT, file)}:${i + 1}: ${sign.name}: ${line.trim().slice(0, 100)}`));
}

const productFolders = [...FLOORS.flat(), 'packer'].filter((folder) => {
  try {
    return statSync(join(ROOT, folder)).isDirectory();
  } catch {
    return false;
  }
});

describe('SQL lives only in store/', () => {
  it('the heuristic sees the SQL that store/ does hold (so a miss below is not blindness)', () => {
    const found = sourceFiles(join(ROOT, 'store')).flatMap((file) => sqlIn(file, readFileSync(file, 'utf8')));
    for (const sign of SQL_SIGNS) expect(found.some((line) => line.includes(`: ${sign.name}: `)), sign.name).toBe(true);
  });

  it('and does not take a regular expression, a process or a word in a message for SQL', () => {
    const innocent = [
      "const match = /^(\\d+)$/.exec(value);",
      "client.exec('umask 077 && mkdir -p ~/.ssh', done);",
      "throw badInput('x', 'select a location from the list, then delete it');",
      "summary: 'Delete a backup location (never the backups stored there)',",
    ].join('\n');
    expect(sqlIn('innocent.ts', innocent)).toEqual([]);
  });

  it('no product file outside store/ holds SQL', () => {
    const outside = productFolders.filter((folder) => folder !== 'store').flatMap((folder) => sourceFiles(join(ROOT, folder)));
    expect(outside.length).toBeGreaterThan(100);
    expect(outside.flatMap((file) => sqlIn(file, readFileSync(file, 'utf8')))).toEqual([]);
  });
});

describe('domain floors do not reach up', () => {
  it('no folder below commands/ imports commands/ or shell/', () => {
    const rank = new Map(FLOORS.flatMap((folders, floor) => folders.map((folder) => [folder, floor] as const)));
    const commandsFloor = rank.get('commands')!;
    const folderOf = (path: string) => path.split('/')[0]!;
    const offending = measure().upward.filter((edge) => {
      const [from, to] = edge.split(' -> ') as [string, string];
      return (rank.get(folderOf(from)) ?? Infinity) < commandsFloor && ['commands', 'shell'].includes(folderOf(to));
    });
    expect(offending).toEqual([]);
  });
});
