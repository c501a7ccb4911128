// Forged callers. The attacker is uid nobody holding only the socket's group
// (setpriv), so it can connect but cannot read any token. Whatever it claims
// (origin 'cluster', a peer address, the administrator's name, an SSH
// source), it gets no rights, changes nothing, and the audit log records
// what was verified: requests of an unproven caller counted under the uid
// the kernel gave for its connection, their words not kept.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PLATFORM, startDaemon, tempHome, withoutCI, type CommandResult, type RunningDaemon } from '../support/daemon.js';
import { socketOf } from './raw-socket.js';

/** A group every Debian system has, standing in for the console users' group. */
const SOCKET_GROUP = 'nogroup';
let node: RunningDaemon;

beforeAll(async () => {
  const home = tempHome('ps-callers-');
  chmodSync(home, 0o755); // nobody must reach run/platformd.sock, as a console user reaches /opt/platform's
  node = await startDaemon({ home, env: withoutCI({ PLATFORM_CONSOLE_GROUP: SOCKET_GROUP }) });
});
afterAll(async () => {
  await node.stop();
});

/** Runs node as uid nobody with `groups` as its only group. */
function asNobody(nodeArgs: string[], group = SOCKET_GROUP): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      ['--reuid=nobody', `--regid=${group}`, '--clear-groups', '--', process.execPath, ...nodeArgs],
      { env: withoutCI({ HOME: '/nonexistent', USER: 'nobody' }), cwd: '/', timeout: 30_000 },
      (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    ).stdin?.end();
  });
}

/** Sends one raw line to the socket as nobody; resolves with the daemon's last message. */
const RAW_CLIENT = `
const s = require('node:net').connect(process.argv[2]);
let t = '';
s.on('connect', () => s.write(process.argv[1] + '\\n'));
s.on('data', (d) => (t += d));
s.on('close', () => process.stdout.write(t));
s.on('error', (e) => process.stdout.write(JSON.stringify({ connectError: e.code }) + '\\n'));
`;
async function sendAsNobody(request: unknown): Promise<Record<string, unknown>> {
  const { stdout } = await asNobody(['-e', RAW_CLIENT, JSON.stringify(request), socketOf(node.home)]);
  const lines = stdout.split('\n').filter(Boolean);
  return JSON.parse(lines.at(-1) ?? '{}');
}

function auditRows(): { user: string; origin: string; address: string | null; words: string; outcome: string }[] {
  const db = new Database(join(node.home, 'config.db'), { readonly: true });
  try {
    return db.prepare('SELECT user, origin, address, words, outcome FROM audit ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

const claim = { user: 'platform', interactive: false, assumeYes: true };
const ORIGINS = ['console', 'ssh', 'cluster', 'local'] as const;

describe('a member of the socket group without a token', () => {
  it('can connect (the socket is its group\'s)', async () => {
    const answer = await sendAsNobody({ op: 'banner', caller: { ...claim, user: 'nobody' } });
    expect(answer.type).toBe('banner');
  });

  for (const origin of ORIGINS) {
    it(`claiming origin "${origin}" with a peer address gets no rights and creates nobody`, async () => {
      const answer = await sendAsNobody({ op: 'run', words: ['user', 'add', `mallory${origin}`], caller: { ...claim, origin, peerAddress: '10.0.0.1' } });
      expect(answer).toMatchObject({ type: 'error', exitStatus: 2, code: 'bad-request' });
      expect(String(answer.message)).toMatch(/caller/);
    });
  }

  const claims: [string, Record<string, unknown>][] = [
    ['the administrator\'s name', claim],
    ['root\'s name', { ...claim, user: 'root' }],
    ['a wrong token', { ...claim, token: 'a'.repeat(48) }],
    ['an SSH source', { ...claim, sshConnection: '10.9.8.7 50000 10.0.0.1 22' }],
  ];
  for (const [what, caller] of claims) {
    it(`claiming ${what} gets no right to add a user`, async () => {
      const answer = await sendAsNobody({ op: 'run', words: ['user', 'add', 'mallory'], caller });
      expect(answer).toMatchObject({ type: 'error', code: 'not-permitted', exitStatus: 1 });
    });
  }

  it('cannot open a session, nor write to the audit log', async () => {
    expect(await sendAsNobody({ op: 'session', kind: 'login', caller: claim })).toMatchObject({ type: 'error', code: 'session-refused' });
    const fake = 'system info\n2026-11-29 10:00:00Z  platform  ssh 10.0.0.1  user add mallory  ok';
    expect(await sendAsNobody({ op: 'audit', caller: claim, words: fake, outcome: 'ok' })).toMatchObject({ type: 'error', code: 'not-permitted' });
  });

  it('sees only help in completion', async () => {
    const answer = await sendAsNobody({ op: 'complete', line: '', caller: claim });
    expect(answer).toMatchObject({ type: 'completion', candidates: ['help'] });
  });

  it('through the real console too: no right, exit 1', async () => {
    const result = await asNobody([PLATFORM, '--home', node.home, 'user', 'add', 'mallory', '--yes']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('you have no right to run');
  });

  it('changed nothing: no user was made', async () => {
    const users = (await node.platform(['--json', 'user', 'list'])).stdout;
    expect(users).not.toMatch(/mallory/);
  });

  it('left no row of its words, only counts under the uid the kernel gave, never what was claimed', async () => {
    expect(auditRows().filter((r) => r.words.includes('mallory') || r.words === 'ssh login')).toEqual([]);
    expect(auditRows().some((r) => r.origin === 'cluster' || r.address === '10.0.0.1' || r.address === '10.9.8.7')).toBe(false);
    // `log audit` shows the counts: requests per minute of uid nobody (65534), by outcome.
    const shown = JSON.parse((await node.platform(['--json', 'log', 'audit', '--since', '1h'])).stdout) as { id: number | null; user: string; origin: string; outcome: string; count: number; words: string }[];
    const counted = shown.filter((row) => row.id === null);
    expect(counted.length).toBeGreaterThan(0);
    for (const row of counted) expect(row).toMatchObject({ user: 'uid 65534', origin: 'local', words: expect.stringContaining('words not kept') });
    const refused = counted.filter((row) => row.outcome === 'refused').reduce((sum, row) => sum + row.count, 0);
    // The four claims, the real console's attempt and the session (the forged origins never reach the executor).
    expect(refused).toBe(6);
  });
});

describe('a local user outside the socket group', () => {
  it('is told permission denied and which group it takes, not that platformd is down', async () => {
    const result = await asNobody([PLATFORM, '--home', node.home, 'system', 'info'], '12345');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`permission denied on ${socketOf(node.home)}`);
    expect(result.stderr).toContain(`only members of the group "${SOCKET_GROUP}"`);
    expect(result.stderr).not.toContain('not running');
  });
});

describe('the proven administrator', () => {
  it('still runs commands, audited under its proven name', async () => {
    const added = await node.platform(['user', 'add', 'alice1']);
    expect(added.status, added.stderr).toBe(0);
    expect(auditRows().at(-1)).toMatchObject({ user: expect.any(String), origin: 'console', words: 'user add alice1', outcome: 'ok' });
  });
});
