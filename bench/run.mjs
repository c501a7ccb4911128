// Runs every benchmark (bench/*.bench.mjs) one after another, each in its
// own process, so one area's load doesn't skew another's figures.
//   npm run bench            all of them
//   npm run bench -- cert    only files whose name contains "cert"

import '../scripts/runtime.mjs';
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const filter = process.argv[2] ?? '';
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.bench.mjs') && f.includes(filter))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file}`);
  const { status } = spawnSync(process.execPath, [`bench/${file}`], { stdio: 'inherit' });
  if (status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
