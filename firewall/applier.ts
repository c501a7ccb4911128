// The applier: loads the product's own table with `nft -f` in one
// transaction (other tables untouched), reads back what the kernel holds,
// and updates peer sets element by element. In plan mode, or when nft cannot
// be run, it applies nothing and says why.

import { spawn } from 'node:child_process';
import { FAMILY, TABLE, peerUpdateScript, replaceTableScript, type Policy } from './compiler.js';

export interface ApplyResult {
  applied: boolean;
  /** Why nothing was applied (plan mode, no nft, no privilege, nft's error). */
  reason?: string;
  ms: number;
}

export function runNft(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('nft', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ code: 127, stdout, stderr: error.code === 'ENOENT' ? 'nft is not installed' : error.message }),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    // nft may exit before reading its input (a listing, an early error): its answer is its output, not EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
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
