// Diagnostics against real local servers, with platformd in a namespace of
// its own: dnsmasq over UDP and TCP, an HTTPS server behind a private CA
// (reported as intercepted), a refusing port, a black-holed port, tinyproxy
// as the HTTP CONNECT proxy, and OpenSSH's internal SFTP server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { removeStale } from '../support/netns.js';
import { startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';
import { until } from '../support/until.js';

const NS = `psnet${process.pid % 10000}`;
const USER = `psnu${process.pid % 10000}`;
const dir = tempHome('ps-diag-');
const inNs = (cmd: string, args: string[]) => execFileSync('ip', ['netns', 'exec', NS, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
const children: ChildProcess[] = [];
const background = (cmd: string, args: string[]) => {
  const child = spawn('ip', ['netns', 'exec', NS, cmd, ...args], { stdio: 'ignore' });
  children.push(child);
  return child;
};
let node: RunningDaemon;
const PORTS = { dns: 5353, https: 8444, selfSigned: 8445, refused: 5998, blackhole: 5999, proxy: 3128, ssh: 2222, web: 8446, webHttp: 8081 };

async function waitForPort(port: number) {
  for (let i = 0; i < 100; i++) {
    try {
      inNs(process.execPath, ['-e', `const s=require('net').connect(${port},'127.0.0.1',()=>process.exit(0));s.on('error',()=>process.exit(1))`]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

beforeAll(async () => {
  removeStale(NS);
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  // A black hole: packets to this port vanish, so a connect can only time out.
  inNs('nft', ['add table inet blackhole']);
  inNs('nft', ['add chain inet blackhole input { type filter hook input priority -10; }']);
  inNs('nft', [`add rule inet blackhole input tcp dport ${PORTS.blackhole} drop`]);

  background('dnsmasq', ['-k', `--port=${PORTS.dns}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--address=/backup.example.test/10.250.40.9', '--local=/example.test/', `--pid-file=${join(dir, 'dnsmasq.pid')}`]);

  // HTTPS behind a private CA, as a TLS-inspecting proxy would present it.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '2', '-subj', '/CN=Corporate Inspection CA', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'www.key'), '-out', join(dir, 'www.csr'), '-subj', '/CN=www.example.com'], { stdio: 'ignore' });
  writeFileSync(join(dir, 'www.ext'), 'subjectAltName=DNS:www.example.com,IP:127.0.0.1\n');
  execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'www.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'www.pem'), '-days', '1', '-extfile', join(dir, 'www.ext')], { stdio: 'ignore' });
  background(process.execPath, ['-e', `require('https').createServer({key:require('fs').readFileSync('${join(dir, 'www.key')}'),cert:require('fs').readFileSync('${join(dir, 'www.pem')}')},(q,s)=>s.end('ok')).listen(${PORTS.https},'127.0.0.1')`]);

  // HTTPS with a self-signed certificate (issuer = subject): the server's own, no proxy in between.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'self.key'), '-out', join(dir, 'self.pem'), '-days', '2', '-subj', '/CN=printer.example.test'], { stdio: 'ignore' });
  background(process.execPath, ['-e', `require('https').createServer({key:require('fs').readFileSync('${join(dir, 'self.key')}'),cert:require('fs').readFileSync('${join(dir, 'self.pem')}')},(q,s)=>s.end('ok')).listen(${PORTS.selfSigned},'127.0.0.1')`]);

  writeFileSync(join(dir, 'tinyproxy.conf'), `Port ${PORTS.proxy}\nListen 127.0.0.1\nTimeout 10\nAllow 127.0.0.1\nLogLevel Critical\nMaxClients 10\n`);
  background('tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')]);

  // OpenSSH with internal SFTP, and a test user with a password.
  execFileSync('useradd', ['-M', '-d', '/tmp', '-s', '/usr/sbin/nologin', USER]);
  execFileSync('chpasswd', [], { input: `${USER}:Pl4tform-test!\n` });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('chmod', ['755', dir]); // the SFTP user must reach its folder
  const sftpRoot = join(dir, 'drop');
  mkdirSync(sftpRoot, { mode: 0o777 });
  execFileSync('chmod', ['777', sftpRoot]);
  writeFileSync(join(dir, 'sshd_config'), `HostKey ${join(dir, 'host_key')}\nListenAddress 127.0.0.1\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM no\nPidFile ${join(dir, 'sshd.pid')}\nSubsystem sftp internal-sftp\nAllowUsers ${USER}\n`);
  background('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(PORTS.ssh)]);

  node = await startDaemon({ netns: NS, args: ['--web-port', String(PORTS.web), '--http-port', String(PORTS.webHttp)] });
  await node.platform(['system', 'setup', '--hostname', 'diag01', '--role', 'unified']);
  for (const port of [PORTS.https, PORTS.selfSigned, PORTS.proxy, PORTS.ssh, PORTS.dns, PORTS.web]) await waitForPort(port);
}, 120_000);

afterAll(async () => {
  await node?.stop();
  for (const child of children) child.kill();
  try {
    execFileSync('userdel', [USER]);
  } catch {
    // never created
  }
  execFileSync('ip', ['netns', 'del', NS]);
  rmSync(dir, { recursive: true, force: true });
});

describe('diag uri ... test', () => {
  it('shows the parsed URI with its secrets hidden, or names the wrong part with exit 2', async () => {
    const shown = await node.platform(['diag', 'uri', 'sftp://dan:hunter2@[fd00::1]/in']);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('password: ***');
    expect(shown.stdout).toContain('port: 22');
    expect(shown.stdout).not.toContain('hunter2');
    const bad = await node.platform(['diag', 'uri', 'sftp://dan@host:99999/']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('port: "99999" is not a port number');
  });

  it('reports a private issuer in front of an HTTPS site as TLS inspection', async () => {
    const result = await node.platform(['diag', 'uri', `https://127.0.0.1:${PORTS.https}/`, 'test']);
    expect(result.stdout).toContain('tls intercepted');
    expect(result.stdout).toContain('Corporate Inspection CA');
    expect(result.status).toBe(1);
  });

  it('recognises the node\'s own certificate and a self-signed one: neither is TLS inspection', async () => {
    const own = await node.platform(['diag', 'uri', `https://127.0.0.1:${PORTS.web}/`, 'test']);
    expect(own.stdout).toContain("this node's own web certificate");
    expect(own.stdout).not.toContain('intercepted');
    expect(own.status).toBe(0);
    const self = await node.platform(['diag', 'uri', `https://127.0.0.1:${PORTS.selfSigned}/`, 'test']);
    expect(self.stdout).toContain('tls untrusted');
    expect(self.stdout).toContain("the server's own self-signed certificate (issuer = subject: CN=printer.example.test)");
    expect(self.status).toBe(1);
  });

  it('checks that a file location\'s folder exists', async () => {
    const missing = await node.platform(['diag', 'uri', 'file:///missing-folder', 'test']);
    expect(missing.stdout).toContain('folder /missing-folder: failed - /missing-folder does not exist');
    expect(missing.status).toBe(1);
    const there = await node.platform(['diag', 'uri', `file://${dir}`, 'test']);
    expect(there.stdout).toContain(`${dir} is a folder`);
    expect(there.status).toBe(0);
  });

  it('goes through the configured HTTP CONNECT proxy', async () => {
    expect((await node.platform(['network', 'proxy', `http://127.0.0.1:${PORTS.proxy}`])).status).toBe(0);
    const result = await node.platform(['diag', 'uri', `https://127.0.0.1:${PORTS.https}/`, 'test']);
    expect(result.stdout).toContain(`through the proxy http://127.0.0.1:${PORTS.proxy}`);
    expect(result.stdout).toContain('tls intercepted');
    const closed = await node.platform(['diag', 'uri', `https://127.0.0.1:${PORTS.refused}/`, 'test']);
    expect(closed.stdout).toMatch(/refused|failed/);
    expect((await node.platform(['network', 'proxy', 'del'])).status).toBe(0);
  });

  it('tells a refusing port from a black-holed one, within a bounded time', async () => {
    const refused = await node.platform(['diag', 'uri', `ftp://u@127.0.0.1:${PORTS.refused}/`, 'test']);
    expect(refused.stdout).toContain(': refused');
    const start = Date.now();
    const blackhole = await node.platform(['diag', 'uri', `ftp://u@127.0.0.1:${PORTS.blackhole}/`, 'test']);
    expect(blackhole.stdout).toContain(': timed out');
    expect(Date.now() - start).toBeLessThan(10_000);
  });

  it('logs in over SFTP, writes and deletes a test file, without showing the password', async () => {
    const result = await node.platform(['diag', 'uri', `sftp://${USER}:Pl4tform-test!@127.0.0.1:${PORTS.ssh}${join(dir, 'drop')}`, 'test']);
    expect(result.stdout).toContain('wrote and deleted a test file');
    expect(result.stdout).not.toContain('Pl4tform-test!');
    expect(result.status).toBe(0);
    const wrong = await node.platform(['diag', 'uri', `sftp://${USER}:wrong-password@127.0.0.1:${PORTS.ssh}/`, 'test']);
    expect(wrong.stdout).toContain('login refused');
    expect(wrong.status).toBe(1);
    // The audit log never holds the password either.
    const db = new Database(join(node.home, 'config.db'), { readonly: true });
    const audit = JSON.stringify(db.prepare('SELECT words FROM audit').all());
    db.close();
    expect(audit).not.toContain('Pl4tform-test!');
    expect(audit).not.toContain('wrong-password');
    expect(audit).toContain(`sftp://${USER}:***@127.0.0.1`);
  });
});

describe('diag dns', () => {
  it('resolves over UDP and over TCP', async () => {
    const result = await node.platform(['--json', 'diag', 'dns', 'backup.example.test', '127.0.0.1', String(PORTS.dns)]);
    const answers = JSON.parse(result.stdout) as { transport: string; ok: boolean; addresses: string[] }[];
    expect(answers.map((a) => [a.transport, a.ok, a.addresses])).toEqual([
      ['udp', true, ['10.250.40.9']],
      ['tcp', true, ['10.250.40.9']],
    ]);
    const missing = await node.platform(['diag', 'dns', 'nothing.example.test', '127.0.0.1', String(PORTS.dns)]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain('no such name');
  });
});

describe('URIs where they are used', () => {
  it('keeps backup locations and notification targets, always shown redacted', async () => {
    expect((await node.platform(['backup', 'add', 'remote', 'sftp://dan:s3cret@10.250.40.9/sftp'])).stdout).toContain('remote: sftp://dan:***@10.250.40.9/sftp');
    expect((await node.platform(['backup', 'add', 'remote', 'file:///x'])).status).toBe(2);
    expect((await node.platform(['backup', 'add', 'mail', 'mailto:a@b.c'])).stderr).toContain('mailto URIs cannot be used here');
    expect((await node.platform(['notify', 'add', 'error', 'snmp://public@10.250.40.7', 'mailto:ops@example.test'])).stdout).toContain('error: mailto:ops@example.test snmp://***@10.250.40.7');
    const list = (await node.platform(['backup', 'list'])).stdout + (await node.platform(['--json', 'notify', 'list'])).stdout;
    expect(list).not.toContain('s3cret');
    expect(list).not.toContain('public');
    expect((await node.platform(['backup', 'del', 'nowhere'])).status).toBe(2);
  });
});

describe('support tools', () => {
  it('lists listening sockets against the catalog and the firewall', async () => {
    const ports = await node.platform(['diag', 'ports']);
    expect(ports.stdout).toMatch(/22\/tcp +no +ssh: open to management/);
    expect(ports.stdout).toMatch(/5353\/udp +yes +not in the catalog: dropped by the firewall/);
  });

  it('writes a support bundle without secrets', async () => {
    await node.platform(['network', 'proxy', 'http://squid:pr0xy-secret@10.250.40.3:3128']);
    const result = await node.platform(['diag', 'bundle']);
    expect(result.status).toBe(0);
    const archive = /written to (\S+)/.exec(result.stdout)![1]!;
    const listing = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' });
    expect(listing).toMatch(/config\.json/);
    expect(listing).toMatch(/ruleset\.nft/);
    expect(listing).toMatch(/logs\/platformd\.log/);
    const content = execFileSync('tar', ['-xzOf', archive], { encoding: 'utf8' });
    expect(content).not.toContain('pr0xy-secret');
    expect(content).not.toContain('s3cret');
    expect(content).toContain('http://squid:***@10.250.40.3:3128');
    await node.platform(['network', 'proxy', 'del']);
  });

  it('checks the node networks for range conflicts', async () => {
    const result = await node.platform(['diag', 'subnet']);
    expect(result.stdout).toMatch(/what +result +finding/);
  });
});

/** A time server in the namespace on the catalog's NTP port: it answers a client packet as RFC 5905 says (stratum 2, its origin field echoing the request). */
const NTP_RESPONDER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (q, r) => {
  const a = Buffer.alloc(48);
  a[0] = (4 << 3) | 4; a[1] = 2;
  q.copy(a, 24, 40, 48);
  const now = Date.now() / 1000 + 2208988800;
  a.writeUInt32BE(Math.floor(now), 40);
  s.send(a, r.port, r.address);
});
s.bind(123, '127.0.0.1');
`;

describe('diag connectivity', () => {
  it('asks each NTP server for the time (resolving is not enough), and tests backup folders and notify targets', async () => {
    expect((await node.platform(['network', 'ntp', 'add', '127.0.0.1'])).status).toBe(0);
    // A folder that existed when it was added (backup add checks that), gone since.
    const gone = mkdtempSync(join(tmpdir(), 'ps-diag-gone-'));
    expect((await node.platform(['backup', 'add', 'gone', `file://${gone}`])).status).toBe(0);
    rmSync(gone, { recursive: true });
    expect((await node.platform(['notify', 'add', 'error', `mailto:ops@127.0.0.1`])).status).toBe(0);
    try {
      type Flows = { flows: { flow: string; destination: string; verdict: string; detail: string }[] };
      // Nothing answers on UDP 123 yet: the name resolves, and still the flow fails (the port is closed: ICMP says so).
      const silent = JSON.parse((await node.platform(['--json', 'diag', 'connectivity'])).stdout) as Flows;
      const flowOf = (flows: Flows['flows'], prefix: string, destination: string) => flows.find((f) => f.flow.startsWith(prefix) && f.destination === destination);
      expect(flowOf(silent.flows, 'NTP server', '127.0.0.1:123')).toMatchObject({ verdict: 'blocked on the way' });
      expect(flowOf(silent.flows, 'backup "gone"', gone)).toMatchObject({ verdict: 'failed', detail: `${gone} does not exist` });
      // Without a relay, mail goes to the address's host on the SMTP port: nothing listens there.
      expect(flowOf(silent.flows, 'mail to mailto:ops@127.0.0.1', '127.0.0.1:25')).toMatchObject({ verdict: 'blocked on the way' });

      background(process.execPath, ['-e', NTP_RESPONDER]);
      const answered = await until('an NTP answer', async () => {
        const flows = (JSON.parse((await node.platform(['--json', 'diag', 'connectivity'])).stdout) as Flows).flows;
        const ntp = flowOf(flows, 'NTP server', '127.0.0.1:123');
        return ntp?.verdict === 'ok' && ntp;
      });
      expect(answered.detail).toMatch(/^NTP answer from 127\.0\.0\.1: stratum 2, clock offset -?\d+\.\d{3} s$/);
    } finally {
      await node.platform(['network', 'ntp', 'del', '127.0.0.1']);
      await node.platform(['backup', 'del', 'gone', '--yes']);
      await node.platform(['notify', 'del', 'error', 'mailto:ops@127.0.0.1']);
    }
  });
});

describe('network requirements', () => {
  it('writes the document of this cluster, agreeing with the firewall catalog', async () => {
    await node.platform(['network', 'ntp', 'add', '10.250.40.123']);
    const md = await node.platform(['network', 'requirements']);
    expect(md.status).toBe(0);
    const file = readFileSync(join(node.home, 'media', 'network-requirements.md'), 'utf8');
    expect(file).toContain('## Inbound to the cluster');
    expect(file).toContain('| any | diag01[');
    expect(file).toContain('| 10.250.40.123 | UDP | 123 | NTP |');
    expect(file).toContain('| 10.250.40.9 | TCP | 22 | Backups to "remote" (sftp) |');
    const json = JSON.parse((await node.platform(['--json', 'network', 'requirements', '--format', 'json'])).stdout) as { direction: string; port: number }[];
    const inbound = json.filter((r) => r.direction === 'inbound').map((r) => r.port).sort((a, b) => a - b);
    // A unified node's non-cluster ports, as `firewall rules` lists them.
    expect(inbound).toEqual([22, 80, 161, 162, 443]);
  });
});
