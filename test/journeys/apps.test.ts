// Every application `app list` shows, as an administrator meets them in the
// console: each one it can control stops and starts by the name the list
// shows, and its port closes and opens as a cluster peer in another
// namespace sees it (platformd with `--firewall apply` in its own
// namespace, a real nftables table); each one it cannot control says why
// before anything is asked.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../store/db.js';
import { createLan, reachable, removeStale, type Lan } from '../support/netns.js';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { until } from '../support/until.js';
import { openConsole, type ConsoleSession } from './console.js';

const PREFIX = `psja${process.pid % 10000}`;
const HOSTNAME = 'apps01';
const env = withoutCI();

let lan: Lan;
let node: RunningDaemon;
let session: ConsoleSession;
const nodeHost = () => lan.hosts.node!;
/** Whether a cluster peer reaches `key` ("443/tcp") on the node. */
const peerReaches = async (key: string) => (await reachable(lan.hosts.peer!.ns, nodeHost().ipv4, [key])).includes(key);

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, '10.250.33', 'fd00:250:33', { node: 1, peer: 2 });
  const home = tempHome();
  mkdirSync(join(home, 'etc'), { recursive: true });
  // The database, run by the embedded supervisor: a listener on the catalog's first database port.
  writeFileSync(join(home, 'etc', 'apps.json'), JSON.stringify([{ name: 'db', service: 'database', command: [process.execPath, '-e', "require('node:net').createServer().listen(27017)"] }]));
  node = await startDaemon({ home, netns: nodeHost().ns, args: ['--firewall', 'apply', '--web-port', '443', '--http-port', '80', '--cluster-port', '8443'], env });
  expect((await node.platform(['system', 'setup', '--hostname', HOSTNAME, '--role', 'unified'])).status).toBe(0);
  // A cluster peer (an application node): the database's flows admit it, so it sees that port too.
  const store = Store.open(join(home, 'config.db'));
  store.inventory.replace([...store.inventory.list(), { address: lan.hosts.peer!.ipv4, hostname: 'peer01', roles: ['application'], dataCentre: 'dc1', primary: false }], new Date().toISOString());
  store.close();
  expect((await node.platform(['app', 'start', 'database'])).status).toBe(0);
  session = await openConsole(home, HOSTNAME, { netns: nodeHost().ns, env });
});
afterAll(async () => {
  await session?.close();
  await node?.stop();
  lan?.destroy();
});

interface Listed {
  app: string;
  ports: string;
  state: string;
  controllable: boolean;
  why: string | null;
}

describe('the applications app list shows', () => {
  it('each stop and start by that name, their ports closing and opening for a peer; the others say why not', async () => {
    const listed = await session.type('app list', 'reachable by');
    const apps = JSON.parse((await node.platform(['--json', 'app', 'list'])).stdout) as Listed[];
    expect(apps.map((a) => a.app)).toEqual(['ssh', 'http', 'https', 'snmp', 'cluster', 'database']);
    for (const app of apps) expect(listed).toMatch(new RegExp(`^${app.app} +${app.ports.replace('/', '\\/')}`, 'm'));
    // The ports as this node serves them (here the catalog's own, moved by no option).
    expect(apps.find((a) => a.app === 'https')!.ports).toBe('443/tcp');
    expect(apps.filter((a) => a.controllable).map((a) => a.app)).toEqual(['http', 'https', 'database']);

    for (const app of apps) {
      const port = app.ports.split(', ')[0]!;
      if (!app.controllable) {
        const said = await session.type(`app stop ${app.app}`, 'cannot be stopped or started from the console');
        expect(said).toContain(app.why!);
        expect(said).not.toContain('[y/N]');
        continue;
      }
      await until(`${app.app} open before the stop`, () => peerReaches(port));
      await session.type(`app stop ${app.app}`, '[y/N]', { question: true });
      await session.type('y', `${app.app} stopped`);
      await until(`${port} closed after app stop ${app.app}`, async () => !(await peerReaches(port)));
      await session.type(`app start ${app.app}`, `${app.app} started`);
      await until(`${port} open after app start ${app.app}`, () => peerReaches(port));
    }
  });

  it('refuse to stop what is not running, before asking', async () => {
    await session.type('app stop database', '[y/N]', { question: true });
    await session.type('y', 'database stopped');
    const said = await session.type('app stop database', 'database is not running');
    expect(said).not.toContain('[y/N]');
    await session.type('app start database', 'database started');
  });
});
