// Cluster maintenance mode at the real console, as an administrator does it
// on the primary before work on the whole cluster: `cluster maintenance-mode
// start`, one confirmation, and every member's console greets whoever logs
// in with SYSTEM IN MAINTENANCE MODE; `stop` ends it everywhere. Two
// platformd nodes in namespaces of their own; each member's own store, read
// with sqlite3, is the outside witness.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { openConsole, type ConsoleSession } from './console.js';

type Name = 'uni' | 'app' | 'db';
const BANNER_LINE = 'SYSTEM IN MAINTENANCE MODE';
let cluster: TestCluster<Name>;
let primary: ConsoleSession;

const consoleOn = (name: Name) => openConsole(cluster.daemons[name].home, `${name}01`, { netns: cluster.lan.hosts[name]!.ns });
/** What the node's own store says, read from outside the product. */
const storedMaintenance = (name: Name) =>
  JSON.parse(execFileSync('sqlite3', [join(cluster.daemons[name].home, 'config.db'), "SELECT value FROM settings WHERE key = 'node'"], { encoding: 'utf8' })).maintenance as boolean;
/** A member's banner as someone logging in meets it. */
async function bannerOf(name: Name): Promise<string> {
  const session = await consoleOn(name);
  await session.close();
  return session.banner;
}

beforeAll(async () => {
  cluster = await startCluster<Name>({ prefix: `psjm${process.pid % 10000}`, net: '10.250.123', roles: { uni: 'unified', app: 'application', db: 'database' } });
  primary = await consoleOn('uni');
}, 180_000);

afterAll(async () => {
  await primary?.close();
  await cluster?.destroy();
});

describe('an administrator puts the whole cluster in maintenance mode from the primary', () => {
  it('asks once, and every member greets with SYSTEM IN MAINTENANCE MODE', async () => {
    expect(primary.banner).not.toContain(BANNER_LINE);
    for (const name of ['app', 'db'] as const) expect(await bannerOf(name)).not.toContain(BANNER_LINE);

    const question = await primary.type('cluster maintenance-mode start', '[y/N]', { question: true });
    expect(question).toContain('Start maintenance mode on every node of the cluster?');
    const answer = await primary.type('y', 'every node is in maintenance mode');
    // One confirmation: no node asked its own (system maintenance-mode's "on this node?").
    expect(question + answer).not.toContain('on this node?');
    for (const name of ['uni', 'app', 'db'] as const) expect(answer).toMatch(new RegExp(`${name}01\\[10\\.250\\.123\\.\\d\\] +on`));

    for (const name of ['uni', 'app', 'db'] as const) expect(storedMaintenance(name)).toBe(true);
    for (const name of ['app', 'db'] as const) expect(await bannerOf(name)).toContain(BANNER_LINE);
    expect(await primary.type('health', BANNER_LINE)).toContain(BANNER_LINE);
  });

  it('sees every node\'s state, then takes the cluster out of maintenance mode', async () => {
    const status = await primary.type('cluster maintenance-mode status', /db01\[10\.250\.123\.3\] +on/);
    expect(status).toMatch(/app01\[10\.250\.123\.2\] +on/);

    await primary.type('cluster maintenance-mode stop', 'Stop maintenance mode on every node of the cluster?', { question: true });
    await primary.type('y', 'every node is out of maintenance mode');
    for (const name of ['uni', 'app', 'db'] as const) expect(storedMaintenance(name)).toBe(false);
    for (const name of ['app', 'db'] as const) expect(await bannerOf(name)).not.toContain(BANNER_LINE);
  });
});
