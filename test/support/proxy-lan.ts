// A node that reaches the outside only through an HTTP proxy: three
// namespaces on one LAN (node, proxy, dest), a prohibit route from the node
// to the destination (a direct connection fails at once), tinyproxy in the
// proxy namespace asking for a user and password and logging each CONNECT,
// and OpenSSH with internal SFTP on the destination, named by a name only
// the proxy's namespace resolves. Used by the connectivity tests and the
// proxy-and-egress journey.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLan, reachable, removeStale, type Lan } from './netns.js';
import { killChild } from './servers.js';
import { until } from './until.js';

export interface ProxyLan {
  lan: Lan;
  ip(host: 'node' | 'proxy' | 'dest'): string;
  ns(host: 'node' | 'proxy' | 'dest'): string;
  /** The destination's name: only the proxy resolves it. */
  dest: string;
  sshPort: number;
  user: string;
  password: string;
  /** Where SFTP backups land on the destination. */
  backupsDir: string;
  proxyPort: number;
  proxyUser: string;
  proxyPassword: string;
  /** http://user:password@proxy:port */
  proxyUri(): string;
  proxyLog(): string;
  /** Starts a process inside a host's namespace; ended by stop(). */
  spawnIn(host: 'node' | 'proxy' | 'dest', file: string, args: string[]): ChildProcess;
  /** Writes a file ip netns exec shows the namespace at /etc/<name> (hosts, resolv.conf). */
  etc(host: 'node' | 'proxy' | 'dest', name: string, text: string): void;
  stop(): Promise<void>;
}

export async function startProxyLan(options: { prefix: string; v4net: string; v6net: string; extraConnectPorts?: number[] }): Promise<ProxyLan> {
  const { prefix } = options;
  const dir = `/var/tmp/${prefix}-${process.pid}`;
  const user = `${prefix.slice(0, 8)}u`;
  const children: ChildProcess[] = [];
  removeStale(prefix);
  const lan = createLan(prefix, options.v4net, options.v6net, { node: 2, proxy: 3, dest: 4 });
  const ip = (name: 'node' | 'proxy' | 'dest') => lan.hosts[name]!.ipv4;
  const ns = (name: 'node' | 'proxy' | 'dest') => lan.hosts[name]!.ns;
  const etc = (host: 'node' | 'proxy' | 'dest', name: string, text: string) => {
    mkdirSync(`/etc/netns/${ns(host)}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns(host)}/${name}`, text);
  };
  const spawnIn = (host: 'node' | 'proxy' | 'dest', file: string, args: string[]) => {
    const child = spawn('ip', ['netns', 'exec', ns(host), file, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', () => undefined);
    children.push(child);
    return child;
  };
  const lanPart: ProxyLan = {
    lan,
    ip,
    ns,
    dest: `backup.${prefix}.test`,
    sshPort: 2222,
    user,
    password: 'Dest-Pa55word!',
    backupsDir: join(dir, 'home', 'backups'),
    proxyPort: 3128,
    proxyUser: 'squid',
    proxyPassword: 'pr0xy-s3cret',
    proxyUri: () => `http://${lanPart.proxyUser}:${lanPart.proxyPassword}@${ip('proxy')}:${lanPart.proxyPort}`,
    proxyLog: () => (existsSync(join(dir, 'tinyproxy.log')) ? readFileSync(join(dir, 'tinyproxy.log'), 'utf8') : ''),
    spawnIn,
    etc,
    async stop() {
      for (const child of children) await killChild(child);
      lan.destroy();
      for (const host of ['node', 'proxy', 'dest'] as const) rmSync(`/etc/netns/${ns(host)}`, { recursive: true, force: true });
      if (existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0) rmdirSync('/etc/netns');
      spawnSync('userdel', [user]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // The node has no way to the destination but the proxy.
    execFileSync('ip', ['-n', ns('node'), 'route', 'add', 'prohibit', `${ip('dest')}/32`]);
    execFileSync('ip', ['-n', ns('node'), '-6', 'route', 'add', 'prohibit', `${lan.hosts.dest!.ipv6}/128`]);
    etc('proxy', 'hosts', `127.0.0.1 localhost\n${ip('dest')} ${lanPart.dest}\n`);

    mkdirSync(lanPart.backupsDir, { recursive: true });
    chmodSync(dir, 0o755);
    spawnSync('userdel', [user]);
    execFileSync('useradd', ['-M', '-d', join(dir, 'home'), '-s', '/bin/sh', user]);
    execFileSync('chown', ['-R', user, join(dir, 'home')]);
    execFileSync('chpasswd', [], { input: `${user}:${lanPart.password}\n` });

    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    writeFileSync(
      join(dir, 'sshd_config'),
      [`HostKey ${join(dir, 'host_key')}`, `ListenAddress ${ip('dest')}`, `Port ${lanPart.sshPort}`, 'UsePAM no', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no', `PidFile ${join(dir, 'sshd.pid')}`, `AllowUsers ${user}`, 'Subsystem sftp internal-sftp', ''].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    spawnIn('dest', '/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')]);

    const connectPorts = [lanPart.sshPort, ...(options.extraConnectPorts ?? [])];
    writeFileSync(
      join(dir, 'tinyproxy.conf'),
      [`Port ${lanPart.proxyPort}`, `Listen ${ip('proxy')}`, 'Timeout 30', `Allow ${ip('node')}`, `BasicAuth ${lanPart.proxyUser} ${lanPart.proxyPassword}`, ...connectPorts.map((p) => `ConnectPort ${p}`), 'LogLevel Info', `LogFile "${join(dir, 'tinyproxy.log')}"`, 'User root', 'Group root', 'MaxClients 20', ''].join('\n'),
    );
    spawnIn('proxy', '/usr/bin/tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')]);
    const listening = (host: 'proxy' | 'dest', port: number) => until(`port ${port} in ${host}`, async () => (await reachable(ns(host), ip(host), [`${port}/tcp`])).length === 1, 30_000);
    await listening('proxy', lanPart.proxyPort);
    await listening('dest', lanPart.sshPort);
    return lanPart;
  } catch (error) {
    await lanPart.stop();
    throw error;
  }
}
