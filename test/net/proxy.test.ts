// One way out, for real. platformd runs in a namespace with NO route to the
// destinations (a prohibit route: a direct connection fails at once), and a
// proxy namespace between them: tinyproxy (HTTP CONNECT with Basic auth) and
// a SOCKS5 server (user/password). The destinations (sshd with SFTP,
// vsftpd in the clear and with AUTH TLS, an aiosmtpd relay) are named by a name only the proxy's namespace
// resolves, so every connection must reach them through the proxy, which
// logs each one. With the proxy stopped, each fails naming the proxy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createLan, reachable, removeStale, type Lan } from '../support/netns.js';
import { startDaemon, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { startMailServer, type MailServer } from '../support/servers.js';
import { startSocks5, type Socks5Server } from '../support/socks5.js';
import { until } from '../support/until.js';

const PREFIX = `pspx${process.pid % 10000}`;
const USER = `psx${process.pid % 10000}`;
const PASSWORD = 'Dest-Pa55word!';
const PROXY_USER = 'squid';
const PROXY_PASSWORD = 'pr0xy-s3cret';
const PORTS = { ssh: 2222, ftp: 2121, pasv: 40000, ftps: 2990, ftpsPasv: 40001, smtp: 2525, http: 3128, socks: 1080 };
const DEST = 'backup.proxy.test';
const dir = `/var/tmp/ps-proxy-${process.pid}`;
const backupsDir = join(dir, 'home', 'backups');
/** Each location has its folder: two backups of the node within the same second share a name. */
const ftpBackupsDir = join(dir, 'home', 'backups-ftp');
const tlsBackupsDir = join(dir, 'home', 'backups-tls');

let lan: Lan;
let node: RunningDaemon;
let relay: MailServer;
let socks: Socks5Server;
const children: ChildProcess[] = [];
let tinyproxy: ChildProcess | undefined;
const ip = (name: string) => lan.hosts[name]!.ipv4;
const ns = (name: string) => lan.hosts[name]!.ns;
const tinyproxyLog = () => (existsSync(join(dir, 'tinyproxy.log')) ? readFileSync(join(dir, 'tinyproxy.log'), 'utf8') : '');

function inNamespace(name: string, file: string, args: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns(name), file, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', () => undefined);
  children.push(child);
  return child;
}

const listening = (name: string, port: number) => until(`port ${port} in ${name}`, async () => (await reachable(ns(name), ip(name), [`${port}/tcp`])).length === 1, 30_000);

async function startTinyproxy(): Promise<void> {
  tinyproxy = inNamespace('proxy', '/usr/bin/tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')]);
  await listening('proxy', PORTS.http);
}

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.250.61', 'fd00:250:61', { node: 2, proxy: 3, dest: 4 });
  // The node has no way to the destination but the proxy.
  execFileSync('ip', ['-n', ns('node'), 'route', 'add', 'prohibit', `${ip('dest')}/32`]);
  execFileSync('ip', ['-n', ns('node'), '-6', 'route', 'add', 'prohibit', `${lan.hosts.dest!.ipv6}/128`]);
  // Only the proxy's namespace knows the destination's name (ip netns exec binds /etc/netns/<ns>/hosts).
  mkdirSync(`/etc/netns/${ns('proxy')}`, { recursive: true });
  writeFileSync(`/etc/netns/${ns('proxy')}/hosts`, `127.0.0.1 localhost\n${ip('dest')} ${DEST}\n`);

  mkdirSync(backupsDir, { recursive: true });
  mkdirSync(tlsBackupsDir, { recursive: true });
  mkdirSync(ftpBackupsDir, { recursive: true });
  chmodSync(dir, 0o755);
  execFileSync('useradd', ['-M', '-d', join(dir, 'home'), '-s', '/bin/sh', USER]);
  execFileSync('chown', ['-R', USER, join(dir, 'home')]);
  execFileSync('chpasswd', [], { input: `${USER}:${PASSWORD}\n` });

  // The destinations: OpenSSH with SFTP, vsftpd (passive), an SMTP relay.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  writeFileSync(join(dir, 'sshd_config'), [`HostKey ${join(dir, 'host_key')}`, `ListenAddress ${ip('dest')}`, `Port ${PORTS.ssh}`, 'UsePAM no', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no', `PidFile ${join(dir, 'sshd.pid')}`, `AllowUsers ${USER}`, 'Subsystem sftp internal-sftp', ''].join('\n'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  inNamespace('dest', '/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')]);
  mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  writeFileSync(join(dir, 'users'), `${USER}\n`);
  writeFileSync(
    join(dir, 'vsftpd.conf'),
    [
      'listen=YES', 'listen_ipv6=NO', `listen_address=${ip('dest')}`, `listen_port=${PORTS.ftp}`, 'background=NO', 'anonymous_enable=NO', 'local_enable=YES', 'write_enable=YES', 'local_umask=077',
      'pasv_enable=YES', `pasv_address=${ip('dest')}`, `pasv_min_port=${PORTS.pasv}`, `pasv_max_port=${PORTS.pasv}`, 'pam_service_name=vsftpd', 'secure_chroot_dir=/var/run/vsftpd/empty', 'seccomp_sandbox=NO',
      'userlist_enable=YES', 'userlist_deny=NO', `userlist_file=${join(dir, 'users')}`, 'ssl_enable=NO', '',
    ].join('\n'),
  );
  inNamespace('dest', '/usr/sbin/vsftpd', [join(dir, 'vsftpd.conf')]);
  // The same with AUTH TLS required (data connections resume the control connection's TLS session), its certificate trusted by the node.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ftps.key'), '-out', join(dir, 'ftps.pem'), '-days', '2', '-subj', `/CN=${DEST}`, '-addext', `subjectAltName=DNS:${DEST}`], { stdio: 'ignore' });
  const tlsConfig = readFileSync(join(dir, 'vsftpd.conf'), 'utf8')
    .replace(`listen_port=${PORTS.ftp}`, `listen_port=${PORTS.ftps}`)
    .replace(`pasv_min_port=${PORTS.pasv}\npasv_max_port=${PORTS.pasv}`, `pasv_min_port=${PORTS.ftpsPasv}\npasv_max_port=${PORTS.ftpsPasv}`)
    .replace('ssl_enable=NO', ['ssl_enable=YES', `rsa_cert_file=${join(dir, 'ftps.pem')}`, `rsa_private_key_file=${join(dir, 'ftps.key')}`, 'force_local_logins_ssl=YES', 'force_local_data_ssl=YES', 'require_ssl_reuse=YES', 'ssl_ciphers=HIGH'].join('\n'));
  writeFileSync(join(dir, 'vsftpd-tls.conf'), tlsConfig);
  inNamespace('dest', '/usr/sbin/vsftpd', [join(dir, 'vsftpd-tls.conf')]);
  relay = await startMailServer(ns('dest'), ip('dest'), PORTS.smtp);

  // The proxies, each asking for credentials.
  writeFileSync(
    join(dir, 'tinyproxy.conf'),
    [`Port ${PORTS.http}`, `Listen ${ip('proxy')}`, 'Timeout 30', `Allow ${ip('node')}`, `BasicAuth ${PROXY_USER} ${PROXY_PASSWORD}`, ...[PORTS.ssh, PORTS.ftp, PORTS.pasv, PORTS.ftps, PORTS.ftpsPasv, PORTS.smtp].map((p) => `ConnectPort ${p}`), 'LogLevel Info', `LogFile "${join(dir, 'tinyproxy.log')}"`, 'User root', 'Group root', 'MaxClients 20', ''].join('\n'),
  );
  await startTinyproxy();
  socks = await startSocks5(ns('proxy'), ip('proxy'), PORTS.socks, `${PROXY_USER}:${PROXY_PASSWORD}`);
  await listening('dest', PORTS.ssh);
  await listening('dest', PORTS.ftp);
  await listening('dest', PORTS.ftps);

  node = await startDaemon({ netns: ns('node'), env: withoutCI({ NODE_EXTRA_CA_CERTS: join(dir, 'ftps.pem') }) });
  const p = (...words: string[]) => node.platform(words);
  expect((await p('system', 'setup', '--hostname', 'app01', '--role', 'application')).status).toBe(0);
  expect((await p('backup', 'key', 'generate')).status).toBe(0);
  expect((await p('backup', 'add', 'ssh', `sftp://${USER}:${PASSWORD}@${DEST}:${PORTS.ssh}${backupsDir}`)).status).toBe(0);
  expect((await p('backup', 'add', 'ftp', `ftp://${USER}:${PASSWORD}@${DEST}:${PORTS.ftp}/backups-ftp`)).status).toBe(0);
  expect((await p('backup', 'add', 'ftps', `ftp://${USER}:${PASSWORD}@${DEST}:${PORTS.ftps}/backups-tls`)).status).toBe(0);
  expect((await p('notify', 'emailrelay', `${DEST}:${PORTS.smtp}`)).status).toBe(0);
  expect((await p('notify', 'add', 'error', 'mailto:ops@example.test')).status).toBe(0);
});

afterAll(async () => {
  await node?.stop();
  await relay?.stop();
  await socks?.stop();
  for (const child of children) child.kill('SIGKILL');
  lan?.destroy();
  rmSync(`/etc/netns/${PREFIX}proxy`, { recursive: true, force: true });
  spawnSync('userdel', [USER]);
  rmSync(dir, { recursive: true, force: true });
});

const proxies = {
  http: { uri: () => `http://${PROXY_USER}:${PROXY_PASSWORD}@${ip('proxy')}:${PORTS.http}`, address: () => `${ip('proxy')}:${PORTS.http}`, log: () => tinyproxyLog(), connected: (port: number) => `CONNECT ${DEST}:${port} HTTP/1.1` },
  socks5: { uri: () => `socks5://${PROXY_USER}:${PROXY_PASSWORD}@${ip('proxy')}`, address: () => `${ip('proxy')}:${PORTS.socks}`, log: () => socks.log(), connected: (port: number) => `CONNECT ${DEST}:${port} ok` },
} as const;

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('without a proxy', () => {
  it('the node cannot reach the destination directly', async () => {
    const result = await node.platform(['diag', 'uri', `sftp://${USER}@${ip('dest')}:${PORTS.ssh}/`, 'test']);
    expect(result.status).toBe(1);
  });
});

for (const kind of ['http', 'socks5'] as const) {
  const proxy = proxies[kind];
  describe(`through the ${kind} proxy`, () => {
    it('is set, password hidden, and says what cannot go through it', async () => {
      const set = await node.platform(['network', 'proxy', proxy.uri()]);
      expect(set.status).toBe(0);
      expect(set.stdout).not.toContain(PROXY_PASSWORD);
      expect(set.stdout).toContain(`${PROXY_USER}:***@${ip('proxy')}`);
      expect(set.stdout).toMatch(/NTP to the time servers \(UDP\)/);
    });

    it('diag uri test logs in over SFTP through it', async () => {
      const before = count(proxy.log(), proxy.connected(PORTS.ssh));
      const result = await node.platform(['diag', 'uri', `sftp://${USER}:${PASSWORD}@${DEST}:${PORTS.ssh}${backupsDir}`, 'test']);
      expect(result.stdout).toContain(`through the proxy ${kind}://${PROXY_USER}:***@`);
      expect(result.stdout).toContain('wrote and deleted a test file');
      expect(result.status).toBe(0);
      expect(count(proxy.log(), proxy.connected(PORTS.ssh))).toBeGreaterThan(before);
    });

    it('keys add fetches the host key through it', async () => {
      const before = count(proxy.log(), proxy.connected(PORTS.ssh));
      const added = await node.platform(['keys', 'add', DEST, String(PORTS.ssh), '--yes']);
      expect(added.stderr).toBe('');
      expect(added.status).toBe(0);
      expect(count(proxy.log(), proxy.connected(PORTS.ssh))).toBeGreaterThan(before);
    });

    it('backs up over SFTP through it', async () => {
      const before = readdirSync(backupsDir).filter((n) => n.endsWith('.psbk')).length;
      const result = await node.platform(['backup', 'create', 'ssh']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(readdirSync(backupsDir).filter((n) => n.endsWith('.psbk'))).toHaveLength(before + 1);
    });

    it('backs up over FTP through it, control and passive data connections alike', async () => {
      const before = count(proxy.log(), proxy.connected(PORTS.pasv));
      const files = () => readdirSync(ftpBackupsDir).filter((n) => n.endsWith('.psbk')).length;
      const had = files();
      const result = await node.platform(['backup', 'create', 'ftp']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(files()).toBe(had + 1);
      expect(proxy.log()).toContain(proxy.connected(PORTS.ftp));
      expect(count(proxy.log(), proxy.connected(PORTS.pasv))).toBeGreaterThan(before);
    });

    it('backs up over FTP with AUTH TLS through it, the data connections resuming the TLS session', async () => {
      const before = count(proxy.log(), proxy.connected(PORTS.ftpsPasv));
      const files = () => readdirSync(tlsBackupsDir).filter((n) => n.endsWith('.psbk')).length;
      const had = files();
      const result = await node.platform(['backup', 'create', 'ftps']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(files()).toBe(had + 1);
      expect(count(proxy.log(), proxy.connected(PORTS.ftpsPasv))).toBeGreaterThan(before);
    });

    it('mails the relay through it', async () => {
      const had = relay.messages().length;
      expect((await node.platform(['notify', 'test', 'error'])).status).toBe(0);
      await until('the test mail', () => relay.messages().length > had, 30_000);
      expect(proxy.log()).toContain(proxy.connected(PORTS.smtp));
    });
  });
}

const stoppers = {
  http: { stop: async () => void tinyproxy?.kill('SIGKILL'), start: () => startTinyproxy() },
  socks5: { stop: () => socks.stop(), start: () => socks.start() },
};

describe('with the proxy stopped', () => {
  for (const kind of ['http', 'socks5'] as const) {
    it(`every way out fails naming the ${kind} proxy, never going direct`, async () => {
      expect((await node.platform(['network', 'proxy', proxies[kind].uri()])).status).toBe(0);
      await stoppers[kind].stop();
      const named = `the proxy ${proxies[kind].address()} cannot be reached: connection refused`;
      const diag = await node.platform(['diag', 'uri', `sftp://${USER}@${DEST}:${PORTS.ssh}/`, 'test']);
      expect(diag.status).toBe(1);
      expect(diag.stdout).toContain(named);
      const keys = await node.platform(['keys', 'add', DEST, String(PORTS.ssh), '--yes']);
      expect(keys.status).toBe(1);
      expect(keys.stderr).toContain(named);
      for (const location of ['ssh', 'ftp']) {
        const backup = await node.platform(['backup', 'create', location]);
        expect(backup.status).toBe(1);
        expect(backup.stderr).toContain(named);
        expect(backup.stderr + backup.stdout).not.toContain(PROXY_PASSWORD);
      }
      await stoppers[kind].start();
    });
  }

  it('the bypass list sends a destination direct (which here has no route)', async () => {
    expect((await node.platform(['network', 'proxy', 'bypass', 'add', '.proxy.test'])).status).toBe(0);
    const diag = await node.platform(['diag', 'uri', `sftp://${USER}@${DEST}:${PORTS.ssh}/`, 'test']);
    expect(diag.stdout).toContain(`resolve ${DEST}: unresolved`);
    expect((await node.platform(['network', 'proxy', 'bypass', 'del', '.proxy.test'])).status).toBe(0);
  });

  it('network requirements says the TCP flows go through the proxy and UDP goes direct', async () => {
    expect((await node.platform(['network', 'ntp', 'add', ip('dest')])).status).toBe(0);
    const report = await node.platform(['network', 'requirements']);
    expect(report.stdout).toContain(`Backups to "ssh" (sftp) (through the proxy ${proxies.socks5.address()})`);
    expect(report.stdout).toMatch(/NTP \(UDP: direct to this server, never through the proxy\)/);
    expect(report.stdout).toContain('SOCKS5 proxy: every outbound TCP connection not on the bypass list');
  });
});
