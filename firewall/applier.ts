// The applier: loads the product's own table with `nft -f` in one
// transaction (other tables untouched), reads back what the kernel holds,
// and updates peer sets element by element. In plan mode, or when nft cannot
// be run, it applies nothing and says why.

import { runProcess } from '../os/processes.js';
import { FAMILY, TABLE, peerUpdateScript, replaceTableScript, type Policy } from './compiler.js';

export interface ApplyResult {
  applied: boolean;
  /** Why nothing was applied (plan mode, no nft, no privilege, nft's error). */
  reason?: string;
  ms: number;
}

/** nft loads even 10,000 peers in well under a second; one that hangs must not hold the firewall's queue for ever. */
const NFT_TIMEOUT_MS = 30_000;
/** A listing of the table with every peer set element, as JSON. */
const NFT_MAX_OUTPUT = 64 * 1024 * 1024;

export async function runNft(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const result = await runProcess('nft', args, { input: input ?? '', timeoutMs: NFT_TIMEOUT_MS, maxOutputBytes: NFT_MAX_OUTPUT });
    return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    // Not installed, or out of time (killed): runProcess's message is the reason.
    return { code: 127, stdout: '', stderr: (error as Error).message };
  }
}

function explainFailure(stderr: string): string {
  if (/Operation not permitted/i.test(stderr)) return 'no privilege to change the firewall (needs root or CAP_NET_ADMIN)';
  return stderr.trim().split('\n').slice(0, 3).join('; ') || 'nft failed';
}

export class Applier {
  constructor(readonly mode: 'apply' | 'plan') {}

  private async load(script: string): Promise<ApplyResult> {
    const start = performance.now();
    if (this.mode === 'plan') return { applied: false, reason: 'plan mode: computed, not applied', ms: 0 };
    const result = await runNft(['-f', '-'], script);
    const ms = performance.now() - start;
    if (result.code !== 0) return { applied: false, reason: explainFailure(result.stderr), ms };
    return { applied: true, ms };
  }

  /** Replaces the whole table atomically. */
  applyTable(tableText: string): Promise<ApplyResult> {
    return this.load(replaceTableScript(tableText));
  }

  /** Changes only the peer sets' elements. */
  updatePeers(policy: Policy): Promise<ApplyResult> {
    return this.load(peerUpdateScript(policy));
  }

  /** What the kernel holds for our table, or undefined when there is none. */
  async readBack(): Promise<{ text: string; inputRules: number } | undefined> {
    if (this.mode === 'plan') return undefined;
    const listed = await runNft(['-j', 'list', 'table', FAMILY, TABLE]);
    if (listed.code !== 0) return undefined;
    const items = (JSON.parse(listed.stdout).nftables ?? []) as Record<string, { chain?: string }>[];
    const inputRules = items.filter((i) => i.rule?.chain === 'input').length;
    const text = await runNft(['list', 'table', FAMILY, TABLE]);
    return { text: text.stdout, inputRules };
  }
}

/** Rules of the input chain in a compiled table, to compare with the read-back. */
export function countInputRules(tableText: string): number {
  const body = tableText.slice(tableText.indexOf('chain input {'), tableText.indexOf('chain forward {'));
  return body.split('\n').filter((line) => /^\s{4}\S/.test(line) && !line.includes('type filter hook')).length;
}
