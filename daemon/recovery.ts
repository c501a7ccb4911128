// The recovery state: platformd started over a store that fails its checks
// (store/open-node.ts). It serves, so that the node can be mended from the
// console, but runs only the commands that recover it; every other command
// answers why not and how to recover. Once a restore has put a good store
// in place the checks pass again and the state ends by itself.

import { failure } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';

/** What runs in the recovery state, by leading words: finding, checking and restoring a backup, the logs, the node's facts, help. */
export const RECOVERY_COMMANDS: readonly (readonly string[])[] = [['backup', 'list'], ['backup', 'verify'], ['backup', 'restore'], ['log'], ['system', 'info'], ['health'], ['help']];

const isRecoveryCommand = (words: readonly string[]) => RECOVERY_COMMANDS.some((prefix) => prefix.every((word, i) => words[i] === word));

/** Whether the store still fails its checks (checked again: a restore may have mended it). */
export function storeStillInvalid(runtime: Runtime): boolean {
  if (!runtime.storeInvalid) return false;
  runtime.storeInvalid = runtime.store.firstProblem();
  if (!runtime.storeInvalid) runtime.log('info', 'the config store passes its checks again: restart platformd to start what the recovery state left stopped');
  return runtime.storeInvalid !== undefined;
}

/** Refuses a command the recovery state does not run, saying what is wrong and how to recover. */
export function refuseOutsideRecovery(runtime: Runtime, words: readonly string[]): void {
  if (isRecoveryCommand(words) || !storeStillInvalid(runtime)) return;
  const { table, problem } = runtime.storeInvalid!;
  throw failure(
    'store-invalid',
    `the config store is invalid (${table}: ${problem}): platformd runs only recovery commands (${RECOVERY_COMMANDS.map((c) => c.join(' ')).join(', ')}). ` +
      'To recover, restore a good backup with "backup restore <location>" and restart platformd; without a backup location, stop platformd and put config.db and store.key of a backup in its home.',
  );
}
