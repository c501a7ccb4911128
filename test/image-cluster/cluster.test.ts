// Two booted appliances form a cluster: the node image (packer/image.mjs,
// from the cache when nothing changed) boots twice in QEMU, each VM with its
// user-mode NIC (SSH forwarded on 127.0.0.1 only, for this test to drive it)
// and a second NIC on a private socket netdev between the two (127.0.0.1
// only, nothing bridged), whose static address comes from the first-boot
// answers (ADDRESS=). Then, over real SSH as the console user, as an
// administrator does it: `cluster prepnode` on node02, `cluster add` and
// `cluster provision` on node01 (the primary), and `cluster check` tests
// every flow the catalog expects between them, from both nodes. Then
// `cluster upgrade` to this tree one patch up: with a fault armed on node02
// the run stops there (node02 rolled back by its gate, the primary not
// reached); run again without it, both end on the new release, checked.
// Too slow for npm test's budget: `npm run test:image-cluster` runs it alone
// (vitest.image-cluster.config.ts). Both VMs are stopped by their PIDs at the
// end, also when a test fails (afterAll, and vm.mjs's exit handlers).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { withoutCI } from '../support/daemon.js';
import { answersDisk, freeLocalPort, startVm, testDisk, waitForSshBanner, type Vm } from '../support/vm.mjs';
import { ensureImage } from '../../packer/image.mjs';
import { portOf } from '../../catalog/derive.js';
import { until } from '../support/until.js';
import { buildRelease, makeKey, releaseWithStartFault } from '../support/releases.js';

const dir = `/var/tmp/ps-cluster-${process.pid}`;
/** A unified primary with a web proxy in front of it: the proxy's web traffic and the cluster agent flow between them. */
const NODES = {
  primary: { hostname: 'node01', role: 'unified', address: '10.77.0.11', mac: '52:54:00:77:00:11' },
  proxy: { hostname: 'node02', role: 'webproxy', address: '10.77.0.12', mac: '52:54:00:77:00:12' },
} as const;
type NodeName = keyof typeof NODES;
/** The catalog's ports (the image runs platformd on them unmapped). */
const AGENT = portOf('cluster');
const HTTPS = portOf('https');
const DATABASE = portOf('database');
/** One vCPU each: two TCG VMs on a 2-core machine. */
const CPUS = Number(process.env.PLATFORM_CLUSTER_VM_CPUS ?? 1);
const BOOT_TIMEOUT = 1_200_000;

const vms = {} as Record<NodeName, Vm>;
const timings: Record<string, number> = {};
const started = Date.now();
const log = (line: string) => process.stderr.write(`[image-cluster] ${line}\n`);
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

const clientOptions = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=30', '-o', 'BatchMode=yes'];
const ssh = (node: NodeName, key: string) => ['-i', join(dir, key), ...clientOptions, '-p', String(vms[node].ports.ssh)];

/** One command as the console user `platform` (ssh platform@node words...). */
function admin(node: NodeName, ...words: string[]) {
  return adminWithin(300_000, node, ...words);
}
/** `admin` for what takes longer under TCG: a cluster upgrade hands 180 MB over and restarts nodes one by one. */
function adminWithin(timeout: number, node: NodeName, ...words: string[]) {
  // `--` first: ssh would take the console's own options (--json) for its own.
  const result = spawnSync('ssh', [...ssh(node, 'admin_key'), '--', 'platform@127.0.0.1', ...words], { encoding: 'utf8', env: withoutCI(), timeout });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}
function json(node: NodeName, ...words: string[]) {
  const result = admin(node, '--json', ...words);
  expect(result.status, `${node}: ${words.join(' ')}: ${result.stderr}${result.stdout}`).toBe(0);
  return JSON.parse(result.stdout);
}
/** A shell script as root in the guest, through the test's own `probe` account (given on stdin: no quoting through ssh). */
function probe(node: NodeName, script: string) {
  const result = spawnSync('ssh', [...ssh(node, 'probe_key'), 'probe@127.0.0.1', 'sudo sh -s'], { input: script, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, out: (result.stdout ?? '').trim(), err: (result.stderr ?? '').trim() };
}

async function boot(name: NodeName, link: { listen: number } | { connect: number }): Promise<void> {
  const node = NODES[name];
  const home = join(dir, name);
  mkdirSync(home);
  const answers = [
    `HOSTNAME=${node.hostname}`,
    `ROLE=${node.role}`,
    `IP=${node.address}`,
    `ADDRESS=${node.mac} ${node.address}/24`,
    'NTP=192.0.2.10',
    'DNS=10.0.2.3', // QEMU's user-mode resolver
    'DOMAIN=example.net',
    'DATA_CENTRE=dc1',
    `ADMIN_KEY=${readFileSync(join(dir, 'admin_key.pub'), 'utf8').trim()}`,
  ];
  const disk = testDisk(built.image, home, { probeKey: readFileSync(join(dir, 'probe_key.pub'), 'utf8') });
  vms[name] = await startVm({ disk, answers: answersDisk(home, answers.join('\n') + '\n'), dir: home, cpus: CPUS, privateLink: { ...link, mac: node.mac } });
  log(`${node.hostname}: QEMU pid ${vms[name].pid}, ssh on 127.0.0.1:${vms[name].ports.ssh}`);
}

let built: Awaited<ReturnType<typeof ensureImage>>;

beforeAll(async () => {
  const imageStart = Date.now();
  built = await ensureImage({ log });
  timings[built.built ? 'image build' : 'image from the cache'] = seconds(imageStart);
  log(`image ${built.image} (${built.built ? 'built' : 'from the cache'})`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const key of ['admin_key', 'probe_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', key, '-f', join(dir, key)]);

  const bootStart = Date.now();
  const linkPort = await freeLocalPort();
  await boot('primary', { listen: linkPort }); // the listening side first: the other connects at its start
  await boot('proxy', { connect: linkPort });
  await Promise.all(
    (Object.keys(NODES) as NodeName[]).map(async (name) => {
      const ms = await waitForSshBanner(vms[name].ports.ssh, BOOT_TIMEOUT, vms[name].exited);
      timings[`${NODES[name].hostname} SSH banner`] = ms / 1000;
      log(`${NODES[name].hostname}: SSH banner after ${(ms / 1000).toFixed(1)} s`);
      // First boot's setup (answers, addresses) runs after platformd: wait for it to finish.
      await until(`${NODES[name].hostname}'s first boot setup`, () => probe(name, 'test -f /opt/platform/.setup-done && echo done').out === 'done', BOOT_TIMEOUT, 3000);
      timings[`${NODES[name].hostname} first boot done`] = seconds(bootStart);
      log(`${NODES[name].hostname}: first boot done after ${seconds(bootStart)} s`);
    }),
  );
  timings['boot of both (to first boot done)'] = seconds(bootStart);
}, 3_000_000);

afterAll(async () => {
  for (const [name, vm] of Object.entries(vms)) {
    if (vm.running()) log(`stopping ${NODES[name as NodeName].hostname}: QEMU pid ${vm.pid}`);
    await vm.stop();
  }
  timings.total = seconds(started);
  log(`timings (s): ${JSON.stringify(timings)}`);
  // PLATFORM_VM_KEEP=1 keeps the disks and the guests' serial consoles (console.log) for a look.
  if (process.env.PLATFORM_VM_KEEP) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('two booted nodes', () => {
  it('have their cluster address from the answers on the private link, and reach each other over it', async () => {
    for (const [name, other] of [['primary', 'proxy'], ['proxy', 'primary']] as const) {
      const info = json(name, 'system', 'info');
      expect(info).toMatchObject({ hostname: NODES[name].hostname, roles: [NODES[name].role], ip: NODES[name].address });
      expect(info.addresses.join()).toContain(`${NODES[name].address}/24`);
      // The other node's SSH banner, over the private link (SSH is open to anyone).
      const banner = `/usr/local/bin/node -e "require('net').connect(22, '${NODES[other].address}').on('data', (d) => { process.stdout.write(String(d).split('-')[0]); process.exit(0); })"`;
      expect(probe(name, banner).out).toBe('SSH');
    }
  }, 600_000);

  it('form a cluster: prepnode on node02, add and provision from node01', () => {
    const start = Date.now();
    const prepared = json('proxy', 'cluster', 'prepnode');
    expect(prepared.address).toBe(NODES.proxy.address);
    // While joinable, node02's agent is open to anyone (the primary is no member yet).
    expect(json('proxy', 'firewall', 'explain', '10.0.2.2', String(AGENT))).toMatchObject({ allowed: true });

    const added = json('primary', 'cluster', 'add', NODES.proxy.address, prepared.code);
    expect(added).toMatchObject({ address: NODES.proxy.address, hostname: 'node02', roles: ['webproxy'], dataCentre: 'dc1', primary: false });
    const provisioned = admin('primary', 'cluster', 'provision');
    expect(provisioned.status, provisioned.stderr).toBe(0);
    expect(provisioned.stdout).toContain('provisioned node01[10.77.0.11], node02[10.77.0.12]');
    timings['cluster formation (prepnode, add, provision)'] = seconds(start);

    for (const name of ['primary', 'proxy'] as const) {
      const list = json(name, 'cluster', 'list');
      expect(list.map((n: { hostname: string; address: string; primary: boolean }) => [n.hostname, n.address, n.primary])).toEqual([
        ['node01', '10.77.0.11', true],
        ['node02', '10.77.0.12', false],
      ]);
    }
  }, 900_000);

  it("admits each peer on the cluster ports the catalog gives it, and nobody else once joined", () => {
    // node01 (unified) takes the proxy on the agent; node02 (webproxy) takes the primary.
    expect(json('primary', 'firewall', 'explain', NODES.proxy.address, String(AGENT))).toMatchObject({ allowed: true, service: 'cluster' });
    expect(json('proxy', 'firewall', 'explain', NODES.primary.address, String(AGENT))).toMatchObject({ allowed: true, service: 'cluster' });
    // The catalog gives a web proxy no flow to the database.
    expect(json('primary', 'firewall', 'explain', NODES.proxy.address, String(DATABASE))).toMatchObject({ allowed: false });
    // The join window closed: an outsider (QEMU's host side) no longer reaches node02's agent.
    expect(json('proxy', 'firewall', 'explain', '10.0.2.2', String(AGENT))).toMatchObject({ allowed: false });
    // The kernel's ruleset holds them too, not only the console's view.
    expect(probe('primary', 'nft list set inet platform peers_cluster_v4').out).toContain(NODES.proxy.address);
    expect(probe('proxy', 'nft list set inet platform peers_cluster_v4').out).toContain(NODES.primary.address);
  }, 600_000);

  it('passes cluster check: every expected flow connects both ways, the database stays closed to the proxy', async () => {
    const start = Date.now();
    const result = admin('primary', '--json', 'cluster', 'check');
    timings['cluster check'] = seconds(start);
    const rows = JSON.parse(result.stdout) as { from: string; to: string; port: number; service: string; expected: string; outcome: string; pass: boolean }[];
    expect(rows.filter((r) => !r.pass), result.stdout).toEqual([]);
    expect(result.status).toBe(0);
    const row = (from: string, to: string, port: number) => rows.find((r) => r.from === from && r.to === to && r.port === port);
    const [a, b] = [NODES.primary.address, NODES.proxy.address];
    expect(row(a, b, AGENT)).toMatchObject({ expected: 'open', outcome: 'ok' });
    expect(row(b, a, AGENT)).toMatchObject({ expected: 'open', outcome: 'ok' });
    expect(row(b, a, HTTPS)).toMatchObject({ service: 'https', expected: 'open', outcome: 'ok' });
    expect(row(b, a, DATABASE)).toMatchObject({ service: 'database', expected: 'blocked', outcome: 'blocked' });
    // The console's matrix says it in words too.
    const text = admin('primary', 'cluster', 'check');
    expect(text.status, text.stdout).toBe(0);
    expect(text.stdout).not.toContain('FAIL');
  }, 600_000);

  it('runs a command on both nodes from the primary, and sees both responding', () => {
    // Each node's own --json answer to the command comes back as its data.
    const results = json('primary', 'cluster', 'run', 'all', 'system', 'info') as { node: string; hostname: string; exitStatus: number; data: { hostname: string; ip: string; roles: string[] } | null }[];
    expect(results.map((r) => [r.node, r.hostname, r.exitStatus, r.data?.hostname, r.data?.ip, r.data?.roles])).toEqual([
      ['10.77.0.11', 'node01', 0, 'node01', '10.77.0.11', ['unified']],
      ['10.77.0.12', 'node02', 0, 'node02', '10.77.0.12', ['webproxy']],
    ]);
    const status = json('primary', 'cluster', 'status') as { hostname: string; responding: boolean }[];
    expect(status.map((n) => [n.hostname, n.responding])).toEqual([
      ['node01', true],
      ['node02', true],
    ]);
  }, 600_000);
});

describe('cluster upgrade of the two booted nodes (issue 23)', () => {
  const FAULT = 'fail-next-release';
  const releases = join(dir, 'releases');
  let running = '';
  let next = '';
  let file = '';
  const current = (node: NodeName) => probe(node, 'readlink /opt/platform-shell/current').out;
  const upgrade = () => adminWithin(1_500_000, 'primary', '--yes', 'cluster', 'upgrade', `file:///opt/platform/media/${basename(file)}`);
  /** The run as the primary records it, once the primary (switching last) answers again. */
  const lastRun = () => {
    const answer = admin('primary', '--json', 'cluster', 'upgrade', 'status');
    return answer.status === 0 ? JSON.parse(answer.stdout).lastRun : undefined;
  };

  beforeAll(async () => {
    running = json('primary', 'system', 'upgrade', 'status').running;
    const [major, minor, patch] = running.split('.').map(Number);
    next = `${major}.${minor}.${patch! + 1}`;
    const key = makeKey(dir, 'release-key');
    // This tree one patch up, with a platformd that will not start where /opt/platform holds FAULT.
    const built = await buildRelease(releases, running, key);
    file = await releaseWithStartFault(built, join(releases, `platform-${next}.psup`), key, { version: next, fault: FAULT });
    const der = createPublicKey(readFileSync(key.publicKey, 'utf8')).export({ format: 'der', type: 'spki' }).toString('base64');
    for (const node of ['primary', 'proxy'] as const) {
      const added = admin(node, '--yes', 'system', 'release-key', 'add', der);
      expect(added.status, added.stderr).toBe(0);
    }
    const keyed = ssh('primary', 'admin_key').map((arg) => (arg === '-p' ? '-P' : arg));
    const uploaded = spawnSync('scp', ['-q', ...keyed, file, 'platform@127.0.0.1:media/'], { encoding: 'utf8', timeout: 900_000 });
    expect(uploaded.status, uploaded.stderr).toBe(0);
  }, 1_800_000);

  it('stops at a failure on node02: its gate rolls it back, the primary is not reached', () => {
    expect(probe('proxy', `touch /opt/platform/${FAULT} && echo armed`).out).toBe('armed');
    const start = Date.now();
    const answer = upgrade();
    timings['cluster upgrade, stopped at node02'] = seconds(start);
    expect(answer.status, answer.stdout + answer.stderr).toBe(1);
    const run = lastRun();
    expect(run).toMatchObject({ release: next, result: 'failed', stoppedAt: NODES.proxy.address });
    const byHost = Object.fromEntries(run.nodes.map((n: { hostname: string }) => [n.hostname, n]));
    expect(byHost.node02).toMatchObject({ state: 'failed', version: running });
    expect(byHost.node02.reason).toMatch(/platformd/);
    expect(byHost.node01).toMatchObject({ state: 'not reached', version: running });
    expect(current('proxy')).toBe(`releases/${running}`);
    expect(current('primary')).toBe(`releases/${running}`);
    expect(json('proxy', 'system', 'upgrade', 'status')).toMatchObject({ running, lastAttempt: { to: next, result: 'rolled-back' } });
  }, 1_800_000);

  it('run again once fixed: node02, then the primary, on the new release; cluster check green between them', async () => {
    expect(probe('proxy', `rm /opt/platform/${FAULT} && echo disarmed`).out).toBe('disarmed');
    const start = Date.now();
    const answer = upgrade();
    expect(answer.status, answer.stdout + answer.stderr).toBe(0);
    expect(answer.stdout).toMatch(/the primary is switching/);
    const run = await until('the primary back on the new release', () => {
      const r = lastRun();
      return r && r.result !== 'switching' && r;
    }, 900_000, 5000);
    timings['cluster upgrade, both nodes'] = seconds(start);
    expect(run.result).toBe('upgraded');
    for (const node of ['primary', 'proxy'] as const) {
      expect(current(node)).toBe(`releases/${next}`);
      expect(json(node, 'system', 'upgrade', 'status')).toMatchObject({ running: next, previous: running });
    }
    const check = admin('primary', '--json', 'cluster', 'check');
    expect((JSON.parse(check.stdout) as { pass: boolean }[]).filter((r) => !r.pass), check.stdout).toEqual([]);
  }, 1_800_000);
});
