// The local API between `platform` and `platformd`: newline-delimited JSON
// over the unix socket run/platformd.sock, one connection per request.
// Requests flow client -> daemon; the daemon streams progress and questions
// back and ends with exactly one `result` or `error`.

import type { Json, Block, ExitStatus } from '../commands/types.js';
import type { AuditOutcome } from '../store/db.js';

export interface CallerInfo {
  user: string;
  /** Proves `user` (see daemon/identity.ts); absent or wrong = no rights. */
  token?: string;
  origin: 'console' | 'ssh' | 'cluster' | 'local';
  /** SSH_CONNECTION of the caller, "src srcport dst dstport". */
  sshConnection?: string;
  /** The cluster peer a command came from (origin 'cluster'). */
  peerAddress?: string;
  interactive: boolean;
  assumeYes: boolean;
}

export type Request =
  | { op: 'run'; words: string[]; caller: CallerInfo }
  | { op: 'complete'; line: string; caller: CallerInfo }
  | { op: 'help-at'; line: string; caller: CallerInfo }
  | { op: 'banner'; caller: CallerInfo }
  /** Held open for the life of an SSH session; refused past the session limit. */
  | { op: 'session'; kind: SessionKind; caller: CallerInfo }
  /** Something a console saw outside a command (a file transfer), for the audit log. */
  | { op: 'audit'; caller: CallerInfo; words: string; outcome: AuditOutcome; message?: string }
  | { op: 'answer'; value: string | boolean };

/** What an SSH session runs: the interactive console, one command, or file transfers. */
export type SessionKind = 'login' | 'command' | 'sftp';

export type Response =
  | { type: 'progress'; text: string }
  | { type: 'confirm'; question: string }
  | { type: 'ask'; question: string; initial?: string; secret?: boolean }
  | { type: 'result'; blocks: Block[]; data: Json; exitStatus: ExitStatus }
  | { type: 'error'; code: string; message: string; hints: string[]; exitStatus: ExitStatus }
  | { type: 'completion'; partial: string; candidates: string[] }
  | { type: 'help-at'; entries: { word: string; summary: string }[] }
  | { type: 'banner'; lines: BannerLine[]; hostname: string }
  | { type: 'session'; active: number; limit: number };

export interface BannerLine {
  text: string;
  /** Warning lines are upper case and drawn in the warning colour. */
  warning: boolean;
}

/** Splits a stream of chunks into JSON messages, one per line. */
export function lineReader(onMessage: (message: unknown) => void): (chunk: Buffer | string) => void {
  let buffered = '';
  return (chunk) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim()) onMessage(JSON.parse(line));
    }
  };
}
