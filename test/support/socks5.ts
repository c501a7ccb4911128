// The test SOCKS5 server (socks5-server.mjs, plain JavaScript so that
// bench/ runs it too) started in a network namespace, with the log of the
// destinations it was asked for.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { until } from './until.js';
import { killChild } from './servers.js';

export interface Socks5Server {
  /** Every line it printed: `CONNECT host:port ok|refused|unreachable`, `AUTH-FAILED user`. */
  log(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const SOCKS5_PROGRAM = join(import.meta.dirname, 'socks5-server.mjs');

/** A SOCKS5 server on address:port in `ns`; with `credentials` (user:password) it asks for them (RFC 1929). */
export async function startSocks5(ns: string, address: string, port: number, credentials?: string): Promise<Socks5Server> {
  let child: ChildProcess | undefined;
  let output = '';
  const server: Socks5Server = {
    log: () => output,
    async start() {
      const started = spawn('ip', ['netns', 'exec', ns, process.execPath, SOCKS5_PROGRAM, address, String(port), ...(credentials ? [credentials] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      let said = '';
      started.stdout!.on('data', (d) => ((output += d), (said += d)));
      started.stderr!.on('data', (d) => (output += d));
      await until(`the SOCKS5 server on ${address}:${port}`, () => said.includes('listening') || started.exitCode !== null);
      if (started.exitCode !== null) throw new Error(`the SOCKS5 server exited: ${output}`);
    },
    async stop() {
      const c = child;
      child = undefined;
      await killChild(c);
    },
  };
  await server.start();
  return server;
}
