// Journey: an administrator puts a node behind the site's HTTP proxy and
// closes its way out, in the real console (a pseudo-terminal, platformd in
// its own namespace applying its ruleset with nft). The node has no route
// to the backup server; only tinyproxy (Basic auth) reaches it. The
// administrator sets the proxy, trusts the server's host key, adds an SFTP
// backup location and backs up through the proxy; then turns strict egress
// on, asks `firewall explain out` about the proxy and about a stranger, runs
// `diag connectivity`, and tries a destination the configuration does not
// name. Outside witnesses: tinyproxy's log (the CONNECT), the SFTP folder
// (the archive), `nft list ruleset` in the node's namespace (the output
// chain), and a listener the kernel no longer lets the node reach.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { reachable, startListeners, type Listeners } from '../support/netns.js';
import { startDaemon, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { startProxyLan, type ProxyLan } from '../support/proxy-lan.js';
import { until } from '../support/until.js';
import { openConsole, type ConsoleSession } from './console.js';

const PREFIX = `psjp${process.pid % 10000}`;
const HOSTNAME = 'edge01';
const STRANGER_PORT = 9099;
const env = withoutCI();
let net: ProxyLan;
let node: RunningDaemon;
let stranger: Listeners;
let session: ConsoleSession;

const ruleset = () => execFileSync('ip', ['netns', 'exec', net.ns('node'), 'nft', 'list', 'ruleset'], { encoding: 'utf8' });
const archives = () => readdirSync(net.backupsDir).filter((n) => n.endsWith('.psbk'));
const connects = () => net.proxyLog().split(`CONNECT ${net.dest}:${net.sshPort}`).length - 1;

beforeAll(async () => {
  net = await startProxyLan({ prefix: PREFIX, v4net: '10.250.64', v6net: 'fd00:250:64' });
  // The node's resolver is one nothing in its configuration names: strict egress will not let it out.
  net.etc('node', 'resolv.conf', `nameserver ${net.ip('proxy')}\n`);
  // Something on the proxy's host that is not the proxy: reachable while egress is open.
  stranger = await startListeners(net.ns('proxy'), [`${STRANGER_PORT}/tcp`]);
  node = await startDaemon({ netns: net.ns('node'), args: ['--firewall', 'apply'], env });
  expect((await node.platform(['system', 'setup', '--hostname', HOSTNAME, '--role', 'application'])).status).toBe(0);
  session = await openConsole(node.home, HOSTNAME, { netns: net.ns('node'), env });
}, 120_000);

afterAll(async () => {
  await session?.close();
  stranger?.stop();
  await node?.stop();
  await net?.stop();
});

describe('behind the proxy, then strict egress', () => {
  it('sets the proxy, its password hidden, and says what cannot go through it', async () => {
    const said = await session.type(`network proxy ${net.proxyUri()}`, 'NTP to the time servers');
    expect(said).toContain(`http://${net.proxyUser}:***@${net.ip('proxy')}:${net.proxyPort}`);
    expect(said.split(`${HOSTNAME}:~$`).slice(1).join('')).not.toContain(net.proxyPassword);
  });

  it('trusts the backup server and backs up to it through the proxy', async () => {
    const before = connects();
    // The host key is fetched through the proxy, shown, and trusted once the administrator says so.
    const question = await session.type(`keys add ${net.dest} ${net.sshPort}`, '[y/N]', { question: true });
    expect(question).toMatch(/SHA256:\S+\. Trust it\?/);
    await session.type('y', 'trusted:');
    await session.type('backup key generate', 'backup key show');
    await session.type(`backup add offsite sftp://${net.user}:${net.password}@${net.dest}:${net.sshPort}${net.backupsDir}`, `offsite: sftp://${net.user}:***@${net.dest}`);
    const created = await session.type('backup create offsite', 'sha256', { timeout: 90_000 });
    expect(created).toMatch(/written to: primary sftp:\/\/\S+:\*\*\*@/);
    // Outside: the archive is in the server's folder, and the proxy carried the connection.
    expect(archives()).toHaveLength(1);
    expect(created).toContain(archives()[0]!.replace(/\.psbk$/, ''));
    expect(connects()).toBeGreaterThan(before);
  }, 120_000);

  it('turns strict egress on: the kernel lets out the proxy and nothing else', async () => {
    expect(await reachable(net.ns('node'), net.ip('proxy'), [`${STRANGER_PORT}/tcp`])).toEqual([`${STRANGER_PORT}/tcp`]);
    await session.type('firewall egress strict', /strict/);
    await until('the output chain in the kernel', () => /chain output[\s\S]*policy drop/.test(ruleset()), 20_000);
    expect(ruleset()).toContain(net.ip('proxy'));
    // Outside: the stranger is no longer reachable from the node's namespace; the proxy still is.
    await until('the stranger dropped', async () => (await reachable(net.ns('node'), net.ip('proxy'), [`${STRANGER_PORT}/tcp`], 500)).length === 0, 20_000);
    expect(await reachable(net.ns('node'), net.ip('proxy'), [`${net.proxyPort}/tcp`])).toEqual([`${net.proxyPort}/tcp`]);

    const proxy = await session.type(`firewall explain out ${net.ip('proxy')} ${net.proxyPort}`, /allowed|dropped/);
    expect(proxy).toContain('allowed: the proxy (network proxy)');
    const other = await session.type(`firewall explain out ${net.ip('proxy')} ${STRANGER_PORT}`, /allowed|dropped/);
    expect(other).toContain(`dropped by the egress policy (firewall egress strict): ${net.ip('proxy')}:${STRANGER_PORT}/tcp is not a configured destination`);
  }, 60_000);

  it('diag connectivity gives each flow its verdict', async () => {
    const said = await session.type('diag connectivity', /flows ok; each probe at most/, { timeout: 60_000 });
    const line = (start: string) => said.split('\n').find((l) => l.includes(start)) ?? '';
    expect(line('proxy (http)')).toMatch(/direct\s+ok\b/);
    expect(line('backup "offsite" sftp')).toMatch(new RegExp(`proxy ${net.ip('proxy').replace(/\./g, '\\.')}:${net.proxyPort}\\s+ok\\b`));
    expect(line('DNS server')).toContain("refused by this node's egress policy");
    expect(said).not.toContain(net.password);
  }, 90_000);

  it('a destination the configuration does not name is refused, naming the policy', async () => {
    // Sent direct (on the bypass list), to an address no configured entry needs.
    await session.type(`network proxy bypass add ${net.ip('proxy')}`, net.ip('proxy'));
    const tried = await session.type(`diag uri sftp://${net.user}@${net.ip('proxy')}:${STRANGER_PORT}/ test`, /egress policy|ok/, { timeout: 30_000 });
    expect(tried).toContain(`refused by this node's egress policy (firewall egress strict): ${net.ip('proxy')}:${STRANGER_PORT} is not a configured destination; see firewall egress`);
    await session.type(`network proxy bypass del ${net.ip('proxy')}`, /bypass|none/);
    await session.type('firewall egress open', /open/);
    await until('the output chain gone', () => !/chain output/.test(ruleset()), 20_000);
  }, 60_000);
});
