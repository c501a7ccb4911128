// The administrator's first day, backups (issue 22), typed into the real
// console in a pseudo-terminal: a backup key made and shown, shown once
// only, then printed again by `backup key export` after its question; a
// file:// location; a backup of a node with a web weight; the weight
// changed; `backup restore`, whose question names the archive (node and
// time), answered y. The outcome is read from outside the console: the
// store with sqlite3 (read-only), nginx's generated configuration, and the
// location's folder (archive and manifest). Then the nightly backup as a
// scheduled job: `schedule run` runs it now, `schedule log` shows the run,
// and a new archive is in the folder. One daemon, as `npm start` makes a
// node (the embedded default).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nginxLayout } from '../../web/nginx.js';
import { pathsFor } from '../../core/paths.js';
import { formatTime } from '../../core/time.js';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { until } from '../support/until.js';
import { openConsole, type ConsoleSession } from './console.js';

const HOSTNAME = 'first01';
const KEPT = { server: '10.9.0.5:8080', weight: 7 };
const LATER = { server: '10.9.0.6:8080', weight: 3 };
/** What the kept server's weight is changed to after the backup. */
const CHANGED = 2;
const env = withoutCI();
const folder = tempHome('ps-journey-backups-');

let node: RunningDaemon;
let session: ConsoleSession;
/** The archive the first backup made, and its time as the manifest records it. */
let archive = '';

const KEY = /psbk1-[A-Za-z0-9_-]{43}/;
const ARCHIVE = new RegExp(`${HOSTNAME}-\\d{8}T\\d{6}Z\\.psbk`);

/** The web weights as the store holds them, read by sqlite3 beside the running daemon, never writing. */
const storedWeights = () => execFileSync('sqlite3', ['-readonly', join(node.home, 'config.db'), 'SELECT server, weight FROM web_weights ORDER BY server'], { encoding: 'utf8' }).trim();
/** The upstream servers of nginx's generated configuration. */
const nginxUpstreams = () => readFileSync(nginxLayout(pathsFor(node.home)).conf, 'utf8').split('\n').filter((l) => /^\s*server \d/.test(l)).map((l) => l.trim());
const archivesInFolder = () => readdirSync(folder).filter((f) => ARCHIVE.test(f) && f.endsWith('.psbk')).sort();

beforeAll(async () => {
  node = await startDaemon({ env });
  // What scripts/start.mjs does on first start.
  const setup = await node.platform(['system', 'setup', '--hostname', HOSTNAME, '--role', 'unified,webproxy', '--data-centre', 'local']);
  expect(setup.status, setup.stderr).toBe(0);
  session = await openConsole(node.home, HOSTNAME, { env });
});
afterAll(async () => {
  await session?.close();
  await node?.stop();
});

describe("the administrator's first backup, and its restore", () => {
  let shownKey = '';

  it('makes the backup key, shows it once, and prints it again only after a question', async () => {
    expect(await session.type('backup key generate', 'key id:')).toContain('backup key: generated');
    shownKey = KEY.exec(await session.type('backup key show', 'not shown again'))?.[0] ?? '';
    expect(shownKey).toMatch(KEY);

    const refused = await session.type('backup key show', 'backup key export');
    expect(refused).toContain('printed only once');
    expect(refused).not.toMatch(KEY);

    const question = await session.type('backup key export', '[y/N]', { question: true });
    expect(question).toContain('This prints the backup key on the screen');
    expect(question).not.toMatch(KEY);
    const exported = await session.type('y', 'key id:');
    expect(KEY.exec(exported)?.[0]).toBe(shownKey);
  });

  it('backs the node up to a folder: the archive and its manifest are there, and backup list shows it', async () => {
    await session.type(`backup add local file://${folder}`, `local: file://${folder}`);
    await session.type(`web weight add ${KEPT.server} ${KEPT.weight}`, `${KEPT.server}: ${KEPT.weight}`);
    expect(storedWeights()).toBe(`${KEPT.server}|${KEPT.weight}`);

    const created = await session.type('backup create local', 'sha256:', { timeout: 60_000 });
    archive = ARCHIVE.exec(created)?.[0] ?? '';
    expect(archive, created).toMatch(ARCHIVE);
    expect(archivesInFolder()).toEqual([archive]);
    const manifest = JSON.parse(readFileSync(join(folder, `${archive}.manifest.json`), 'utf8')) as { archive: string; node: string; size: number };
    expect(manifest).toMatchObject({ archive, node: HOSTNAME, size: readFileSync(join(folder, archive)).length });

    const listed = await session.type('backup list local', archive);
    expect(listed).toMatch(new RegExp(`${archive.replace('.', '\\.')}\\s+${HOSTNAME}\\s`));
  });

  it('restores it after a question naming the archive, its node and time: the weight is back in the store and in nginx', async () => {
    // The change the restore must undo, seen from outside first (so the checks below can fail).
    await session.type(`web weight add ${KEPT.server} ${CHANGED}`, `${KEPT.server}: ${CHANGED}`);
    await session.type(`web weight add ${LATER.server} ${LATER.weight}`, `${LATER.server}: ${LATER.weight}`);
    expect(storedWeights()).toBe(`${KEPT.server}|${CHANGED}\n${LATER.server}|${LATER.weight}`);
    expect(nginxUpstreams().some((l) => l.startsWith(`server ${LATER.server} weight=${LATER.weight} `))).toBe(true);

    const { createdAt } = JSON.parse(readFileSync(join(folder, `${archive}.manifest.json`), 'utf8')) as { createdAt: string };
    const question = await session.type('backup restore local', '[y/N]', { question: true });
    expect(question).toContain(`with ${archive} (${HOSTNAME}, ${formatTime(createdAt)}) from local?`);
    const restored = await session.type('y', 'web certificate valid to:', { timeout: 120_000 });
    expect(restored).toContain(`restored: ${archive}`);

    expect(storedWeights()).toBe(`${KEPT.server}|${KEPT.weight}`);
    const upstreams = nginxUpstreams();
    expect(upstreams.some((l) => l.startsWith(`server ${KEPT.server} weight=${KEPT.weight} `)), upstreams.join('\n')).toBe(true);
    expect(upstreams.some((l) => l.includes(LATER.server))).toBe(false);
    // And the console, still open, reads the restored node.
    const listed = await session.type('web weight list', `${KEPT.server}: ${KEPT.weight}`);
    expect(listed).not.toContain(LATER.server);
    // A restore adds nothing to the location.
    expect(archivesInFolder()).toEqual([archive]);
  });

  it('never wrote the key to the audit log, platformd.log or the console history', async () => {
    const audit = execFileSync('sqlite3', ['-readonly', join(node.home, 'config.db'), "SELECT user, words, outcome FROM audit WHERE words LIKE 'backup key%' ORDER BY id"], { encoding: 'utf8' });
    expect(audit).toMatch(/\|backup key export\|ok$/m);
    expect(audit).not.toContain(shownKey);
    expect(readFileSync(join(node.home, 'logs', 'platformd.log'), 'utf8')).not.toContain(shownKey);
    const history = join(node.home, 'history');
    const typed = readdirSync(history).map((f) => readFileSync(join(history, f), 'utf8')).join('');
    expect(typed).toContain('backup key export\n');
    expect(typed).not.toContain(shownKey);
  });
});

describe('the nightly backup, scheduled', () => {
  it('schedule run backs up now, schedule log shows the run, and a new archive is in the folder', async () => {
    // Archives are named to the second: the next one must not share the first one's name.
    const stamp = (name: string) => /(\d{8}T\d{6})Z/.exec(name)![1]!;
    const now = () => new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
    await until('a second later than the first archive', () => now() > stamp(archive));

    const added = await session.type('schedule add nightly backup create local', 'runs:');
    expect(added).toContain('command: backup create local');
    const ran = await session.type('schedule run nightly', 'nightly ok', { timeout: 60_000 });
    const made = ARCHIVE.exec(ran.slice(ran.indexOf('nightly ok')))?.[0] ?? '';
    expect(made, ran).toMatch(ARCHIVE);
    expect(made).not.toBe(archive);

    const log = await session.type('schedule log nightly', 'ok (exit 0)');
    expect(log).toContain(made);

    expect(archivesInFolder()).toEqual([archive, made]);
    expect(existsSync(join(folder, `${made}.manifest.json`))).toBe(true);
    expect((await session.type('backup list local', made)).match(ARCHIVE)).not.toBeNull();
  });
});
