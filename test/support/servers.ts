// Real servers from Debian's packages that the product talks to, run in a
// test's network namespace: an SMTP relay (python3-aiosmtpd, with STARTTLS
// required, writing a Maildir) and an SNMP trap receiver (snmptrapd, v2c
// communities and v3 users). Each can be stopped and started again on the
// same address, to play a relay that goes away and comes back.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempHome } from './daemon.js';

/** Ends a server the test started (by its own handle), and waits until it is gone; one already gone is left alone. */
export async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

export interface Server {
  stop(): Promise<void>;
  start(): Promise<void>;
  output(): string;
}

function supervise(command: () => [string, string[], NodeJS.ProcessEnv?], ready: RegExp | (() => boolean)): Server {
  let child: ChildProcess | undefined;
  let output = '';
  const server: Server = {
    output: () => output,
    async start() {
      const [file, args, env] = command();
      const started = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
      child = started;
      started.stdout!.on('data', (d) => (output += d));
      started.stderr!.on('data', (d) => (output += d));
      const deadline = Date.now() + 15_000;
      while (!(typeof ready === 'function' ? ready() : ready.test(output))) {
        if (started.exitCode !== null) throw new Error(`${file} exited: ${output}`);
        if (Date.now() > deadline) throw new Error(`${file} not ready: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      await killChild(c);
    },
  };
  return server;
}

export interface MailServer extends Server {
  /** The messages received, oldest first, as raw RFC 5322 text. */
  messages(): string[];
  maildir: string;
}

/** aiosmtpd on `address:port` inside `ns`, STARTTLS required (a self-signed certificate), storing a Maildir. */
export async function startMailServer(ns: string, address: string, port: number): Promise<MailServer> {
  const dir = tempHome('ps-smtp-');
  const maildir = join(dir, 'Maildir');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=relay'], { stdio: 'ignore' });
  let listening = false;
  const server = supervise(
    () => {
      listening = false;
      return ['ip', ['netns', 'exec', ns, '/usr/bin/python3', '-m', 'aiosmtpd', '-n', '-l', `${address}:${port}`, '--tlscert', join(dir, 'cert.pem'), '--tlskey', join(dir, 'key.pem'), '-c', 'aiosmtpd.handlers.Mailbox', maildir]];
    },
    () => listening || (listening = canConnect(ns, address, port)),
  );
  await server.start();
  return {
    ...server,
    maildir,
    messages() {
      const folder = join(maildir, 'new');
      let files: string[] = [];
      try {
        files = readdirSync(folder).sort();
      } catch {
        return [];
      }
      return files.map((f) => readFileSync(join(folder, f), 'utf8'));
    },
  };
}

function canConnect(ns: string, address: string, port: number): boolean {
  try {
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', `const s=require('net').connect(${port},'${address}',()=>{s.end();process.exit(0)});s.on('error',()=>process.exit(1))`], { stdio: 'ignore', timeout: 3000 });
    return true;
  } catch {
    return false;
  }
}

export interface TrapReceiver extends Server {
  /** Each notification received: its varbinds, numeric OID → value. */
  notifications(): Record<string, string>[];
}

/** snmptrapd on `address:port` inside `ns`, accepting these v2c communities and v3 users (authNoPriv or authPriv). */
export async function startTrapReceiver(
  ns: string,
  address: string,
  port: number,
  access: { communities?: string[]; users?: { name: string; auth: string; authPassword: string; priv?: string; privPassword?: string }[] },
): Promise<TrapReceiver> {
  const dir = tempHome('ps-trapd-');
  mkdirSync(join(dir, 'persist'), { recursive: true });
  const lines = ['disableAuthorization no'];
  for (const community of access.communities ?? []) lines.push(`authCommunity log ${community}`);
  for (const user of access.users ?? []) {
    lines.push(`createUser ${user.name} ${user.auth} "${user.authPassword}"${user.priv ? ` ${user.priv} "${user.privPassword}"` : ''}`);
    lines.push(`authUser log ${user.name} ${user.priv ? 'priv' : 'auth'}`);
  }
  writeFileSync(join(dir, 'snmptrapd.conf'), lines.join('\n') + '\n');
  const server = supervise(
    () => [
      'ip',
      ['netns', 'exec', ns, '/usr/sbin/snmptrapd', '-f', '-Lo', '-C', '-c', join(dir, 'snmptrapd.conf'), '-On', '-F', 'TRAP %a %V~%v\\n', `udp:${address}:${port}`],
      { SNMP_PERSISTENT_DIR: join(dir, 'persist'), MIBS: '' },
    ],
    /NET-SNMP version/,
  );
  await server.start();
  return {
    ...server,
    notifications() {
      return server
        .output()
        .split('\n')
        .filter((l) => l.startsWith('TRAP '))
        .map((line) => {
          const out: Record<string, string> = {};
          for (const part of line.split('~').slice(1)) {
            const match = /^(\.?[\d.]+) = (?:[A-Za-z-]+: )?"?(.*?)"?$/.exec(part.trim());
            if (match) out[match[1]!.replace(/^\./, '')] = match[2]!;
          }
          return out;
        });
    },
  };
}
