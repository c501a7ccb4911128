// Cluster maintenance mode for real: three platformd nodes in namespaces of
// their own (the primary uni, and app and db), `cluster maintenance-mode`
// run on the primary with one confirmation, each node's own state checked
// on that node, and a node that cannot be reached named while the others
// still change.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../support/daemon.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { groups } from '../../commands/index.js';
import { shapeProblems } from '../../core/json-shape.js';

type Name = 'uni' | 'app' | 'db';
let cluster: TestCluster<Name>;
const NAMES: Name[] = ['uni', 'app', 'db'];
const label = (name: Name) => `${name}01[${cluster.address(name)}]`;
const shapeOf = (action: string) => groups.flatMap((g) => g.commands).find((c) => c.words.join(' ') === `cluster maintenance-mode ${action}`)!.json!;

/** Each node's own answer to `system maintenance-mode status`, asked on that node. */
const ownStates = async () => Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, (await cluster.json(n, ['system', 'maintenance-mode', 'status'])).maintenanceMode]))) as Record<Name, boolean>;

beforeAll(async () => {
  cluster = await startCluster<Name>({ prefix: `psmm${process.pid % 10000}`, net: '10.250.121', roles: { uni: 'unified', app: 'application', db: 'database' } });
}, 180_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe('cluster maintenance-mode', () => {
  it('is refused on a node outside any cluster, and on a member, naming the primary', async () => {
    const alone = await startDaemon();
    try {
      const refused = await alone.platform(['cluster', 'maintenance-mode', 'status']);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('this node is in no cluster: use "system maintenance-mode"');
    } finally {
      await alone.stop();
    }
    const onMember = await cluster.on('app', ['cluster', 'maintenance-mode', 'start', '--yes']);
    expect(onMember.status).toBe(1);
    expect(onMember.stderr).toContain(`run "cluster maintenance-mode start" on the primary, ${label('uni')}`);
    expect(await ownStates()).toEqual({ uni: false, app: false, db: false });
  });

  it('asks once, and changes nothing anywhere when it is not confirmed', async () => {
    const unconfirmed = await cluster.on('uni', ['cluster', 'maintenance-mode', 'start']);
    expect(unconfirmed.status).toBe(1);
    expect(unconfirmed.stderr).toContain('add --yes');
    expect(await ownStates()).toEqual({ uni: false, app: false, db: false });
  });

  it('starts maintenance mode on every node, the primary included, and says so', async () => {
    const started = await cluster.on('uni', ['cluster', 'maintenance-mode', 'start', '--yes']);
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    expect(started.stdout).toContain(`every node is in maintenance mode: `);
    for (const name of NAMES) expect(started.stdout).toMatch(new RegExp(`${label(name).replace(/[[\].]/g, '\\$&')} +on`));
    expect(await ownStates()).toEqual({ uni: true, app: true, db: true });
    // Each member's own banner says it, and provisioning now waits.
    for (const name of NAMES) expect((await cluster.on(name, ['health'])).stdout).toContain('SYSTEM IN MAINTENANCE MODE');
    expect((await cluster.on('uni', ['cluster', 'provision'])).stderr).toContain('in maintenance mode');
  });

  it('shows every node\'s state, in the shape its --json declares', async () => {
    const status = await cluster.json('uni', ['cluster', 'maintenance-mode', 'status']);
    expect(shapeProblems(shapeOf('status'), status)).toEqual([]);
    expect(status.map((r: { hostname: string; maintenanceMode: boolean }) => [r.hostname, r.maintenanceMode]).sort()).toEqual([['app01', true], ['db01', true], ['uni01', true]]);
  });

  it('names a node it cannot reach, still changes the others, and exits 1', async () => {
    await cluster.daemons.db.stop({ keepHome: true });
    const stopped = await cluster.on('uni', ['cluster', 'maintenance-mode', 'stop', '--yes']);
    expect(stopped.status).toBe(1);
    const said = stopped.stdout + stopped.stderr;
    expect(said).toContain(`NOT changed: ${label('db')}: not responding`);
    const changed = said.split('Changed: ')[1]!.split('. Run')[0]!;
    expect(changed.split(', ').sort()).toEqual([label('app'), label('uni')].sort());
    const json = JSON.parse((await cluster.on('uni', ['--json', 'cluster', 'maintenance-mode', 'status'])).stdout);
    expect(shapeProblems(shapeOf('status'), json)).toEqual([]);
    const byHost = Object.fromEntries(json.map((r: { hostname: string }) => [r.hostname, r]));
    expect(byHost.uni01).toMatchObject({ maintenanceMode: false, error: null });
    expect(byHost.app01).toMatchObject({ maintenanceMode: false, error: null });
    expect(byHost.db01).toMatchObject({ maintenanceMode: null, error: { code: 'not-responding', message: expect.stringContaining('not responding') } });
    const status = await cluster.on('uni', ['cluster', 'maintenance-mode', 'status']);
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/db01\[10\.250\.121\.3\] +unknown: not responding/);

    // Back, it is still in maintenance mode (it never heard the stop), until it is stopped again.
    await cluster.restart('db');
    expect((await cluster.json('db', ['system', 'maintenance-mode', 'status'])).maintenanceMode).toBe(true);
    const again = await cluster.on('uni', ['cluster', 'maintenance-mode', 'stop', '--yes']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('every node is out of maintenance mode');
    expect(await ownStates()).toEqual({ uni: false, app: false, db: false });
    for (const name of NAMES) expect((await cluster.on(name, ['health'])).stdout).not.toContain('SYSTEM IN MAINTENANCE MODE');
  }, 240_000); // a node stopped, two calls that wait for it in vain, a restart: minutes on a loaded machine
});
