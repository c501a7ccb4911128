// `diag connectivity` tells the truth, against real servers: platformd in a
// namespace whose only way to the destination is tinyproxy (test/support/
// proxy-lan.ts). Each flow is tried as it really goes and gets one verdict:
// an SFTP backup through the proxy is ok (the proxy logs the CONNECT) while
// the same server reached directly is blocked; an NTP server that answers
// is ok, one that is silent has no answer, a closed UDP port is blocked; the
// resolver answers a real query; an SNMP inform reaches snmptrapd and is
// acknowledged (v2c and v3); a closed TCP port is blocked, and so is a port
// the proxy will not tunnel to; and under strict egress a
// resolver the configuration does not name is refused by the policy. The
// runner's bounds (its concurrency cap, its total time) are tested beside.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { startProxyLan, type ProxyLan } from '../support/proxy-lan.js';
import { startTrapReceiver, type TrapReceiver } from '../support/servers.js';
import { until } from '../support/until.js';
import { join } from 'node:path';
import { probeFlows, type Flow, type FlowResult } from '../../net/connectivity.js';

/** The NTP servers' program (test/support/ntp-servers.mjs). */
const NTP_SERVERS = join(import.meta.dirname, '..', 'support', 'ntp-servers.mjs');
const PREFIX = `pscn${process.pid % 10000}`;
const COMMUNITY = 'c0nnect1vity';
const V3 = { name: 'diagv3', auth: 'SHA', authPassword: 'Diag-auth-s3cret', priv: 'AES', privPassword: 'Diag-priv-s3cret' };
/** A port the proxy does not let anyone CONNECT to (tinyproxy's ConnectPort lists the SSH port only). */
const FORBIDDEN_PORT = 2121;
const HOSTNAME = 'conn01';
let net: ProxyLan;
let node: RunningDaemon;
let receiver: TrapReceiver;

/** DNS packets that reached the proxy's host, as its kernel counts them: the outside witness of what was sent. */
const dnsPacketsSeen = () => {
  const listed = execFileSync('ip', ['netns', 'exec', net.ns('proxy'), 'nft', 'list', 'chain', 'inet', 'witness', 'input'], { encoding: 'utf8' });
  return Number(/udp dport 53 counter packets (\d+)/.exec(listed)?.[1] ?? NaN);
};

const ok = async (...words: string[]) => {
  const result = await node.platform(words);
  expect(result.status, `${words.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
};

async function connectivity(): Promise<{ status: number; flows: FlowResult[]; bound: { totalMs: number } }> {
  const result = await node.platform(['--json', 'diag', 'connectivity']);
  return { status: result.status, ...(JSON.parse(result.stdout) as { flows: FlowResult[]; bound: { totalMs: number } }) };
}

const flowTo = (flows: FlowResult[], flow: string, destination?: string) => {
  const found = flows.find((f) => f.flow.startsWith(flow) && (destination === undefined || f.destination === destination));
  expect(found, `${flow} ${destination ?? ''} in ${JSON.stringify(flows, null, 1)}`).toBeDefined();
  return found!;
};

beforeAll(async () => {
  net = await startProxyLan({ prefix: PREFIX, v4net: '10.250.63', v6net: 'fd00:250:63' });
  const proxy = net.ip('proxy');
  // The node has no DNS servers of its own: it asks the system's resolver, dnsmasq on the proxy's host.
  net.etc('node', 'resolv.conf', `nameserver ${proxy}\n`);
  for (const rule of ['add table inet witness', 'add chain inet witness input { type filter hook input priority 0; }', 'add rule inet witness input udp dport 53 counter']) {
    execFileSync('ip', ['netns', 'exec', net.ns('proxy'), 'nft', rule]);
  }
  net.spawnIn('proxy', 'dnsmasq', ['-k', '--port=53', `--listen-address=${proxy}`, '--bind-interfaces', '--no-resolv', '--no-hosts', `--address=/${HOSTNAME}/${net.ip('node')}`]);
  // NTP answers on the proxy's IPv4 address; its IPv6 address only listens, silent.
  net.spawnIn('proxy', process.execPath, [NTP_SERVERS, `${proxy}:123`, '--silent', `[${net.lan.hosts.proxy!.ipv6}]:123`]);
  receiver = await startTrapReceiver(net.ns('proxy'), proxy, 162, { communities: [COMMUNITY], users: [V3] });
  node = await startDaemon({ netns: net.ns('node') });
  await ok('system', 'setup', '--hostname', HOSTNAME, '--role', 'application');
  await ok('network', 'proxy', net.proxyUri());
  // Through the proxy by the name only it resolves; the same server by address is on the bypass list: direct, where no route leads.
  await ok('backup', 'add', 'offsite', `sftp://${net.user}:${net.password}@${net.dest}:${net.sshPort}${net.backupsDir}`);
  await ok('backup', 'add', 'bypassed', `sftp://${net.user}:${net.password}@${net.ip('dest')}:${net.sshPort}${net.backupsDir}`);
  await ok('network', 'proxy', 'bypass', 'add', net.ip('dest'));
  // Through the proxy to a port it refuses to tunnel to.
  await ok('backup', 'add', 'forbidden', `ftp://${net.user}@${net.dest}:${FORBIDDEN_PORT}/b`);
  // The mail relay on the proxy's host, bypassed: a direct connection to a port nothing listens on.
  await ok('network', 'proxy', 'bypass', 'add', proxy);
  await ok('notify', 'emailrelay', `${proxy}:2525`);
  await ok('notify', 'add', 'error', 'mailto:ops@example.test');
  await ok('notify', 'add', 'error', `snmp://${COMMUNITY}@${proxy}`);
  await ok('notify', 'add', 'warn', `snmp://${V3.name}:${V3.auth}:${V3.authPassword}:${V3.priv}:${V3.privPassword}@${proxy}`);
  // An answering time server, a silent one, and a closed UDP port (the node's own loopback).
  await ok('network', 'ntp', 'add', proxy);
  await ok('network', 'ntp', 'add', net.lan.hosts.proxy!.ipv6);
  await ok('network', 'ntp', 'add', '127.0.0.1');
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await receiver?.stop();
  await net?.stop();
});

describe('diag connectivity', () => {
  it('gives each flow the verdict of trying it as it really goes', async () => {
    const before = net.proxyLog().split(`CONNECT ${net.dest}:${net.sshPort}`).length;
    const sentBefore = receiver.notifications().length;
    // The servers started in the background: the answering NTP server is the last to be up.
    const { status, flows } = await until('the NTP server answers', async () => {
      const run = await connectivity();
      return flowTo(run.flows, 'NTP server', `${net.ip('proxy')}:123`).verdict === 'ok' && run;
    });
    expect(status).toBe(1);
    const proxy = net.ip('proxy');

    expect(flowTo(flows, 'DNS server', `${proxy}:53`)).toMatchObject({ protocol: 'udp', via: 'direct', verdict: 'ok' });
    expect(flowTo(flows, 'DNS server', `${proxy}:53`).detail).toBe(`answered: ${net.ip('node')}`);
    expect(dnsPacketsSeen()).toBeGreaterThan(0);
    expect(flows.filter((f) => f.flow === 'DNS server').map((f) => [f.protocol, f.verdict])).toEqual([
      ['udp', 'ok'],
      ['tcp', 'ok'],
    ]);

    expect(flowTo(flows, 'NTP server', `${proxy}:123`).detail).toMatch(/^NTP answer from 10\.250\.63\.3: stratum 2, clock offset -?\d+\.\d{3} s$/);
    expect(flowTo(flows, 'NTP server', `[${net.lan.hosts.proxy!.ipv6}]:123`)).toMatchObject({ verdict: 'no answer' });
    expect(flowTo(flows, 'NTP server', '127.0.0.1:123')).toMatchObject({ verdict: 'blocked on the way' });
    expect(flowTo(flows, 'NTP server', '127.0.0.1:123').detail).toContain('ICMP port unreachable');

    expect(flowTo(flows, 'proxy (http)')).toMatchObject({ destination: `${proxy}:3128`, via: 'direct', verdict: 'ok' });
    const offsite = flowTo(flows, 'backup "offsite" sftp');
    expect(offsite).toMatchObject({ destination: `${net.dest}:${net.sshPort}`, via: `proxy ${proxy}:3128`, verdict: 'ok' });
    expect(offsite.detail).toContain('wrote and deleted a test file');
    expect(net.proxyLog().split(`CONNECT ${net.dest}:${net.sshPort}`).length).toBeGreaterThan(before);
    const bypassed = flowTo(flows, 'backup "bypassed" sftp');
    expect(bypassed).toMatchObject({ via: 'direct', verdict: 'blocked on the way' });
    expect(bypassed.detail).toMatch(/no route to it \(EACCES|EHOSTUNREACH\)/);

    const forbidden = flowTo(flows, 'backup "forbidden" ftp');
    expect(forbidden).toMatchObject({ via: `proxy ${proxy}:3128`, verdict: 'blocked on the way' });
    expect(forbidden.detail).toMatch(new RegExp(`^the proxy ${proxy.replace(/\./g, '\\.')}:3128 refused the connection to ${net.dest}:${FORBIDDEN_PORT}: 403`));

    expect(flowTo(flows, 'mail relay')).toMatchObject({ destination: `${proxy}:2525`, via: 'direct', verdict: 'blocked on the way' });
    expect(flowTo(flows, 'mail relay').detail).toContain('connection refused');

    const inform = flowTo(flows, 'SNMP v2c inform');
    expect(inform).toMatchObject({ destination: `${proxy}:162`, protocol: 'udp', via: 'direct', verdict: 'ok' });
    expect(inform.flow).not.toContain(COMMUNITY);
    expect(flowTo(flows, 'SNMP v3 inform')).toMatchObject({ destination: `${proxy}:162`, verdict: 'ok', detail: 'a test inform was acknowledged by the receiver' });
    expect(flowTo(flows, 'SNMP v3 inform').flow).not.toContain(V3.authPassword);
    await until('both test informs at snmptrapd', () => receiver.notifications().length >= sentBefore + 2);
    expect(JSON.stringify(receiver.notifications().at(-1))).toContain('diag-connectivity-test');

    // The same on the console, as a table, with its bound stated.
    const text = await node.platform(['diag', 'connectivity']);
    expect(text.stdout).toMatch(/blocked on the way/);
    expect(text.stdout).toMatch(/\d+ of \d+ flows ok; each probe at most 8 s, 8 at once, the whole test at most 30 s/);
    expect(text.stdout + text.stderr).not.toContain(net.password);
    expect(text.stdout + text.stderr).not.toContain(net.proxyPassword);
    expect(text.stdout + text.stderr).not.toContain(V3.privPassword);
  }, 90_000);

  it('says a flow the strict egress policy does not let out is refused by it, and sends nothing', async () => {
    await ok('firewall', 'egress', 'strict');
    try {
      const seen = dnsPacketsSeen();
      const { flows } = await connectivity();
      expect(dnsPacketsSeen()).toBe(seen);
      // The node has no DNS servers configured: the system's resolver is not a configured destination.
      const dns = flows.filter((f) => f.flow === 'DNS server');
      expect(dns.map((f) => f.verdict)).toEqual(["refused by this node's egress policy", "refused by this node's egress policy"]);
      expect(dns[0]!.detail).toBe(`refused by this node's egress policy (firewall egress strict): ${net.ip('proxy')}:53 is not a configured destination; see firewall egress (UDP)`);
      // What the configuration names still goes: the proxy, and the backup through it.
      expect(flowTo(flows, 'proxy (http)').verdict).toBe('ok');
      expect(flowTo(flows, 'backup "offsite" sftp').verdict).toBe('ok');
    } finally {
      await ok('firewall', 'egress', 'open');
    }
  }, 60_000);
});

describe('the connectivity runner', () => {
  /** A flow whose probe never ends unless stopped; counts how many run at once. */
  const hanging = (i: number, gauge: { now: number; max: number; stopped: number }): Flow => ({
    flow: `flow ${i}`,
    destination: `192.0.2.${i}:1`,
    protocol: 'tcp',
    via: 'direct',
    probe: (signal) =>
      new Promise((resolve) => {
        gauge.now++;
        gauge.max = Math.max(gauge.max, gauge.now);
        signal.addEventListener('abort', () => {
          gauge.now--;
          gauge.stopped++;
          resolve({ outcome: 'failed', detail: 'stopped late' });
        });
      }),
  });

  it('runs at most its cap at once, stops each probe at its deadline, and ends within its total bound', async () => {
    const gauge = { now: 0, max: 0, stopped: 0 };
    const flows = Array.from({ length: 20 }, (_, i) => hanging(i, gauge));
    const results = await probeFlows(flows, { concurrency: 4, flowDeadlineMs: 100, totalBoundMs: 250 });
    expect(gauge.max).toBe(4);
    expect(results).toHaveLength(20);
    // Every probe started was told to stop; none is left running.
    expect(gauge.now).toBe(0);
    expect(gauge.stopped).toBe(results.filter((r) => !r.detail.startsWith('not tried')).length);
    expect(new Set(results.map((r) => r.verdict))).toEqual(new Set(['no answer']));
    expect(results.some((r) => /^no answer within 0\.1 s$/.test(r.detail))).toBe(true);
    expect(results.filter((r) => r.detail === "not tried: the command's bound of 0.25 s was reached first").length).toBeGreaterThan(0);
    expect(results.map((r) => r.flow)).toEqual(flows.map((f) => f.flow));
  });

  it('turns a probe that throws into a verdict', async () => {
    const flow: Flow = { flow: 'thrower', destination: 'x:1', protocol: 'tcp', via: 'direct', probe: () => Promise.reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' })) };
    const [result] = await probeFlows([flow]);
    expect(result).toMatchObject({ verdict: 'blocked on the way', detail: 'the connection was reset: a firewall or the server cut it' });
  });
});
