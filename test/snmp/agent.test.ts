// The SNMP agent for real: platformd (firewall applied) in its own network
// namespace configures and supervises Debian's snmpd; Debian's snmpget reads
// sysName from a management source over v2c and v3, wrong credentials get
// nothing, a non-management source is dropped by the firewall, and 161/udp
// is open only while snmpd runs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLan, removeStale, type Lan } from '../support/netns.js';
import { PLATFORM, startDaemon, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';
import { until } from '../support/until.js';

const PREFIX = `pssa${process.pid % 10000}`;
const SYS_NAME = '1.3.6.1.2.1.1.5.0';

let lan: Lan;
let node: RunningDaemon;
const nodeIp = () => lan.hosts.node!.ipv4;
const nft = (): Promise<string> => run(lan.hosts.node!.ns, 'nft', ['list', 'table', 'inet', 'platform']).then((r) => r.stdout);

function run(ns: string, file: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('ip', ['netns', 'exec', ns, file, ...args], { timeout: 20_000, env: { ...process.env, MIBS: '' } }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    ),
  );
}

/** snmpget of sysName from a namespace; -t 1 -r 0: one second, no retry, for a get that should get nothing. */
const snmpget = (from: string, auth: string[]) => run(from, '/usr/bin/snmpget', ['-On', '-t', '1', '-r', '0', ...auth, nodeIp(), SYS_NAME]);
/** A get that should be answered: a busy test machine may lose a datagram or take more than a second. */
const snmpgetAnswered = (from: string, auth: string[], oid = SYS_NAME) => run(from, '/usr/bin/snmpget', ['-On', '-t', '3', '-r', '2', ...auth, nodeIp(), oid]);

/** Waits for a condition; on timeout the error carries what the node says of itself. */
const untilNode = (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) => until(what, check, timeoutMs, 200, nodeState);

async function nodeState(): Promise<string> {
  const snmp = await node.platform(['snmp', 'status']);
  const firewall = await node.platform(['firewall', 'status']);
  const listening = await run(lan.hosts.node!.ns, 'ss', ['-lunp']);
  return [snmp.stdout, firewall.stdout, listening.stdout, `platformd's output, last lines:\n${node.output().split('\n').slice(-30).join('\n')}`].join('\n');
}

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.250.15', 'fd00:250:15', { node: 1, mgmt: 2, out: 3 });
  node = await startDaemon({ netns: lan.hosts.node!.ns, args: ['--firewall', 'apply'], env: withoutCI({ PLATFORM_EVENTS_INTERVAL_MS: '500' }) });
  expect((await node.platform(['system', 'setup', '--hostname', 'snmpnode', '--role', 'unified'])).status).toBe(0);
  // The management source, confirmed.
  expect((await node.platform(['firewall', 'allow', `${lan.hosts.mgmt!.ipv4}/32`])).status).toBe(0);
  expect((await node.platform(['firewall', 'confirm'])).status).toBe(0);
});

afterAll(async () => {
  await node?.stop();
  lan?.destroy();
});

describe('snmp agent', () => {
  it('runs no snmpd and keeps 161/udp closed while no community or user is set', async () => {
    expect((await node.platform(['snmp', 'status'])).stdout).toContain('off (no community or user)');
    expect(await nft()).not.toMatch(/\b161\b/);
    expect((await snmpget(lan.hosts.mgmt!.ns, ['-v2c', '-c', 'public7'])).status).not.toBe(0);
  });

  it('serves sysName over v2c to a management source with the right community only', async () => {
    const added = await node.platform(['snmp', 'community', 'add', 'public7']);
    expect(added.status, added.stderr).toBe(0);
    expect((await node.platform(['snmp', 'location', 'Rack', '7,', 'Room', '2'])).status).toBe(0);
    await untilNode('161/udp open', async () => /\b161\b/.test(await nft()));
    // The commands return once snmpd listens: the first get is answered.
    const got = await snmpgetAnswered(lan.hosts.mgmt!.ns, ['-v2c', '-c', 'public7']);
    expect(got.stdout, got.stderr).toContain(`.${SYS_NAME} = STRING: "snmpnode"`);
    const location = await snmpgetAnswered(lan.hosts.mgmt!.ns, ['-v2c', '-c', 'public7'], '1.3.6.1.2.1.1.6.0');
    expect(location.stdout).toContain('Rack 7, Room 2');
    const wrong = await snmpget(lan.hosts.mgmt!.ns, ['-v2c', '-c', 'public8']);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).not.toContain('STRING');
  });

  it('drops SNMP from a source that is not a management source', async () => {
    const got = await snmpget(lan.hosts.out!.ns, ['-v2c', '-c', 'public7']);
    expect(got.status).not.toBe(0);
    expect(got.stdout + got.stderr).toMatch(/Timeout/);
    const why = await node.platform(['firewall', 'explain', lan.hosts.out!.ipv4, '161/udp']);
    expect(why.stdout).not.toMatch(/allowed/i);
  });

  it('serves sysName over v3 to a user added with passwords asked at the prompt; wrong passwords get nothing', async () => {
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home, 'snmp', 'user', 'add', 'alice', 'SHA', 'AES'], withoutCI());
    // The daemon runs in a namespace; its socket is a file, reachable from here.
    await term.waitFor('authentication password for alice');
    term.write('Auth-pass-1\r');
    await term.waitFor('privacy password for alice');
    term.write('Priv-pass-1\r');
    expect(await term.exited).toBe(0);
    expect(term.screen()).not.toContain('Auth-pass-1');
    const v3 = (a: string, x: string) => ['-v3', '-l', 'authPriv', '-u', 'alice', '-a', 'SHA', '-A', a, '-x', 'AES', '-X', x];
    await untilNode('v3 answers', async () => (await snmpget(lan.hosts.mgmt!.ns, v3('Auth-pass-1', 'Priv-pass-1'))).stdout.includes('STRING'));
    const wrong = await snmpget(lan.hosts.mgmt!.ns, v3('Wrong-pass-1', 'Priv-pass-1'));
    expect(wrong.stdout).not.toContain('STRING');
    expect(wrong.status).not.toBe(0);
    // The passwords are not in the store.
    const store = readFileSync(join(node.home, 'config.db')).toString('latin1');
    expect(store).not.toContain('Auth-pass-1');
    expect((await node.platform(['snmp', 'user', 'list'])).stdout).toMatch(/alice\s+SHA\s+AES\s+set/);
  });

  it('restarts an snmpd that dies, and raises app-stopped', async () => {
    const pid = Number(readFileSync(join(node.home, 'run', 'snmpd.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await untilNode('the event in the mailbox', async () => (await node.platform(['mail', 'list'])).stdout.includes('app-stopped'));
    await untilNode('snmpd back', async () => (await snmpget(lan.hosts.mgmt!.ns, ['-v2c', '-c', 'public7'])).stdout.includes('STRING'));
  });

  it('closes 161/udp once nobody may read the agent (snmpd stopped)', async () => {
    expect((await node.platform(['snmp', 'community', 'del', 'public7'])).status).toBe(0);
    expect((await node.platform(['snmp', 'user', 'del', 'alice'])).status).toBe(0);
    expect((await node.platform(['snmp', 'status'])).stdout).toContain('off (no community or user)');
    await untilNode('161/udp closed', async () => !/\b161\b/.test(await nft()));
    expect((await snmpget(lan.hosts.mgmt!.ns, ['-v2c', '-c', 'public7'])).status).not.toBe(0);
  });

  it('raises firewall-rolled-back when a change is not confirmed in time', async () => {
    expect((await node.platform(['firewall', 'allow', `${lan.hosts.out!.ipv4}/32`, '2'])).status).toBe(0);
    await untilNode('the rollback event', async () => (await node.platform(['mail', 'list'])).stdout.includes('firewall-rolled-back'), 10_000);
  });
});
