// Rights never add up to root. Through the daemon's own protocol, as each
// console user would speak it: for every narrow grant, every command of the
// administrator-only table (commands/admin-only.ts) is refused and never
// shown by `help`, `?` or Tab; a user's scheduled jobs are theirs alone and
// hold only commands they may run; and one user cannot take every SSH
// session, nor the administrator's last one.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { groups } from '../../commands/index.js';
import { withAdminOnly } from '../../commands/admin-only.js';
import { buildTree, commandsUnder } from '../../commands/tree.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { ask, provenCaller, socketOf } from './raw-socket.js';

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
});
afterAll(async () => {
  await node?.stop();
});

type Answer = Record<string, unknown>;
const as = (user: string) => provenCaller(node.home, user);
const run = (user: string, ...words: string[]) => ask(node.home, { op: 'run', words, caller: as(user) });
const admin = (...words: string[]) => run('platform', ...words);
const completions = async (user: string, line: string) => ((await ask(node.home, { op: 'complete', line, caller: as(user) })).candidates ?? []) as string[];
const helpWords = async (user: string, line: string) => (((await ask(node.home, { op: 'help-at', line, caller: as(user) })).entries ?? []) as { word: string }[]).map((e) => e.word);
const ok = (answer: Answer) => expect(answer, JSON.stringify(answer)).toMatchObject({ type: 'result', exitStatus: 0 });

/** Writes the store behind the daemon's back: what an older version (or an older grant rule) left. */
function storeSql(sql: string, ...params: unknown[]): void {
  const db = new Database(join(node.home, 'config.db'));
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

async function addUser(name: string, ...grants: string[][]): Promise<void> {
  ok(await admin('user', 'add', name));
  for (const grant of grants) ok(await admin('user', 'grant', name, ...grant));
}

const tree = buildTree(groups);
const adminOnly = commandsUnder(tree).filter((c) => c.adminOnly).map((c) => c.words.join(' '));
const groupWords = tree.children.map((c) => c.word);
const grantableBelow = (words: string) => commandsUnder(tree).some((c) => !c.adminOnly && c.words.join(' ').startsWith(`${words} `));
/** Every group word, and some two-word prefixes that reach next to administrator-only commands. */
const NARROW_GRANTS = [...groupWords, 'system upgrade', 'backup key', 'backup create', 'system ssh_session_limit', 'system maintenance-mode', 'cluster maintenance-mode', 'firewall limits', 'web cluster', 'cluster list', 'network hostname', 'user list', 'keys list'];

describe('the administrator-only table', () => {
  it('holds what can make a user root or lock the administrator out', () => {
    for (const words of ['backup restore', 'backup key import', 'backup key show', 'backup add', 'backup del', 'user add', 'user grant', 'user addkey', 'keys add', 'cluster add', 'cluster prepnode', 'system reboot', 'system setup', 'cluster maintenance-mode start', 'cluster maintenance-mode stop', 'system ssh_session_limit set', 'firewall deny']) {
      expect(adminOnly, words).toContain(words);
    }
    // Each entry names a command: a misspelt one is a mistake found at start, not a right left open.
    expect(() => withAdminOnly([{ word: 'user', summary: 'users', commands: [] }])).toThrow(/names no command/);
    // What every user may do to themselves is not the administrator's.
    expect(adminOnly).not.toContain('system password');
    expect(adminOnly).not.toContain('help');
    // An exact entry covers its command only: `system upgrade <uri>` is the administrator's, its read-only status may be granted.
    for (const words of ['system upgrade', 'system rollback', 'system release verify', 'system release-key add', 'cluster upgrade']) expect(adminOnly, words).toContain(words);
    expect(adminOnly).not.toContain('system upgrade status');
  });
});

describe('a narrow grant', () => {
  const users = new Map<string, string>();
  beforeAll(async () => {
    for (const [i, grant] of NARROW_GRANTS.entries()) {
      const name = `narrow${i}`;
      users.set(grant, name);
      ok(await admin('user', 'add', name));
      const granted = await admin('user', 'grant', name, ...grant.split(' '));
      if (granted.type === 'error') {
        // A prefix holding only administrator-only commands is refused; a store from before the rule may still hold it.
        expect(granted, grant).toMatchObject({ code: 'administrator-only', exitStatus: 2 });
        storeSql('INSERT INTO user_rights (user, prefix) VALUES (?, ?)', name, grant);
      }
    }
  }, 120_000);

  it('user grant refuses a prefix of administrator-only commands only, and says what a wider one leaves out', async () => {
    for (const grant of ['user', 'keys', 'backup key', 'backup restore', 'user list', 'cluster add', 'system reboot']) {
      const answer = await admin('user', 'grant', 'narrow0', ...grant.split(' '));
      expect(answer, grant).toMatchObject({ type: 'error', code: 'administrator-only', exitStatus: 2 });
      expect(String(answer.message)).toContain('is for administrators only, and no grant includes it: ');
    }
    expect((await admin('user', 'grant', 'narrow0', 'keys')).message).toBe('"keys" is for administrators only, and no grant includes it: the node\'s own SSH identity and the hosts it trusts');
    const wide = await admin('user', 'grant', users.get('backup')!, 'backup');
    expect(JSON.stringify(wide.blocks)).toMatch(/not included, administrators only: .*backup restore/);
  });

  for (const grant of NARROW_GRANTS) {
    it(`"${grant}": every administrator-only command is refused, and help, ? and Tab never show it`, async () => {
      const user = users.get(grant)!;
      const shown = new Set<string>();
      // `help`, and `help <group>` for every group: the usage lines shown.
      const menu = await run(user, 'help');
      ok(menu);
      const menuText = JSON.stringify(menu.blocks);
      for (const word of groupWords) {
        const usage = await run(user, 'help', word);
        if (usage.type === 'result') for (const entry of usage.data as { syntax: string }[]) shown.add(entry.syntax);
      }
      for (const words of adminOnly) {
        const refused = await run(user, ...words.split(' '));
        expect(refused, `${grant}: ${words}`).toMatchObject({ type: 'error', code: 'not-permitted', exitStatus: 1 });
        expect(String(refused.message)).toContain(`you have no right to run "${words}": only an administrator may run it`);
        // The command's own usage line (`system upgrade <uri>`), not a granted one below it (`system upgrade status`).
        for (const syntax of shown) expect(syntax === words || (syntax.startsWith(`${words} `) && /^[<[]/.test(syntax.slice(words.length + 1))), `${grant}: help shows ${syntax}`).toBe(false);
        const parent = words.split(' ').slice(0, -1).join(' ');
        const last = words.split(' ').at(-1)!;
        const line = parent ? `${parent} ` : '';
        // Its word is offered only as the way to a granted command below it (`system upgrade` to `status`).
        if (!grantableBelow(words)) {
          expect(await completions(user, line), `${grant}: Tab after "${line}"`).not.toContain(last);
          expect(await helpWords(user, line), `${grant}: ? after "${line}"`).not.toContain(last);
        }
        // `help <command>` names it no more than the menu does.
        const direct = await run(user, 'help', ...words.split(' '));
        // (As a whole command: `network interfaces` is shown, `network interface` is not.)
        const named = JSON.stringify(direct.data ?? null);
        expect(direct.type === 'error' || !(named.includes(`"${words}"`) || named.includes(`"${words} <`) || named.includes(`"${words} [`)), `${grant}: help ${words}`).toBe(true);
      }
      // A group with nothing but administrator-only commands is not on the menu.
      expect(menuText).not.toMatch(/(user - manage users|keys - ssh\/sftp credentials)/);
    });
  }

  it('a grant of "system upgrade" gives its read-only status, never the upgrade itself', async () => {
    const user = users.get('system upgrade')!;
    expect(await run(user, 'system', 'upgrade', 'status')).toMatchObject({ type: 'result' });
    const refused = await run(user, 'system', 'upgrade', 'file:///opt/platform/media/platform-9.9.9.psup');
    expect(refused).toMatchObject({ type: 'error', code: 'not-permitted', exitStatus: 1 });
    expect(String(refused.message)).toBe('you have no right to run "system upgrade": only an administrator may run it');
  });

  it('the administrator sees and may run what the others may not (the checks above can fail)', async () => {
    expect(await completions('platform', '')).toEqual(expect.arrayContaining(['user', 'keys']));
    expect(await completions('platform', 'backup ')).toEqual(expect.arrayContaining(['restore', 'key', 'add']));
    expect(await helpWords('platform', 'system ssh_session_limit ')).toContain('set');
    ok(await admin('keys', 'list'));
  });

  it('an abbreviated grant is stored in the tree\'s words', async () => {
    await addUser('abbrev');
    const granted = await admin('user', 'grant', 'abbrev', 'firewal', 'stat');
    ok(granted);
    expect(granted.data).toMatchObject({ rights: ['firewall status'] });
    ok(await run('abbrev', 'firewall', 'status'));
    const unknown = await admin('user', 'grant', 'abbrev', 'firewal', 'bogus');
    expect(unknown).toMatchObject({ type: 'error', code: 'unknown-command', exitStatus: 2 });
    ok(await admin('user', 'revoke', 'abbrev', 'fire', 'status'));
  });
});

describe('scheduled jobs', () => {
  beforeAll(async () => {
    await addUser('opss', ['schedule'], ['system', 'info'], ['log', 'follow']);
    await addUser('other', ['schedule'], ['health']);
    ok(await admin('schedule', 'add', 'adminjob', 'user', 'list'));
    ok(await admin('schedule', 'add', 'adminjob2', 'user', 'list'));
    ok(await admin('schedule', 'disable', 'adminjob2'));
    ok(await run('opss', 'schedule', 'add', 'mine', 'sy', 'i'));
  }, 60_000);

  it('are seen and changed only by their owner or an administrator', async () => {
    const listed = await run('opss', 'schedule', 'list');
    expect((listed.data as { job: string }[]).map((j) => j.job)).toEqual(['mine']);
    for (const words of [['time', 'adminjob', '1', '2'], ['enable', 'adminjob2'], ['disable', 'adminjob'], ['log', 'adminjob'], ['run', 'adminjob'], ['del', 'adminjob']]) {
      const answer = await run('opss', 'schedule', ...words);
      expect(answer, words.join(' ')).toMatchObject({ type: 'error', code: 'no-such-job', exitStatus: 2 });
    }
    expect(await completions('opss', 'schedule time ')).toEqual(['mine']);
    expect(await run('other', 'schedule', 'del', 'mine')).toMatchObject({ type: 'error', code: 'no-such-job' });
    // Nothing changed: the administrator's jobs are as they were.
    const all = (await admin('schedule', 'list')).data as { job: string; enabled: boolean; owner: string }[];
    expect(all.find((j) => j.job === 'adminjob2')).toMatchObject({ enabled: false });
    expect(all.map((j) => j.job)).toEqual(['adminjob', 'adminjob2', 'mine']);
    expect(await completions('platform', 'schedule time ')).toEqual(['adminjob', 'adminjob2', 'mine']);
  });

  it('hold the resolved command, which may never be a schedule command, an endless one, a group or no command', async () => {
    const mine = ((await run('opss', 'schedule', 'list')).data as { command: string[] }[])[0]!;
    expect(mine.command).toEqual(['system', 'info']);
    const refusals: [string[], string, string][] = [
      [['sch', 'add', 'j2', 'system', 'info'], 'not-schedulable', 'cannot change the schedule'],
      [['schedule', 'del', 'mine'], 'not-schedulable', 'cannot change the schedule'],
      [['log', 'follow', 'messages'], 'not-schedulable', 'runs until someone stops it'],
      [['system'], 'not-schedulable', 'is a group of commands'],
      [['bogus', 'words'], 'unknown-command', 'unknown command "bogus"'],
      [['user', 'list'], 'not-permitted', 'no right'],
      [['backup', 'restore', 'x'], 'not-permitted', 'no right'],
    ];
    for (const [words, code, message] of refusals) {
      const answer = await run('opss', 'schedule', 'add', 'j1', ...words);
      expect(answer, words.join(' ')).toMatchObject({ type: 'error', code });
      expect(String(answer.message)).toContain(message);
    }
    expect(((await admin('schedule', 'list')).data as unknown[]).length).toBe(3);
    // Not even an administrator schedules a command that prints a secret: the job's log would keep it.
    for (const words of [['backup', 'key', 'show'], ['backup', 'key', 'export']]) {
      const answer = await admin('schedule', 'add', 'jk', ...words);
      expect(answer, words.join(' ')).toMatchObject({ type: 'error', code: 'not-schedulable' });
      expect(String(answer.message)).toContain('prints a secret');
    }
  });

  it('run now with schedule run, as their owner, recorded in their log', async () => {
    const ran = await run('opss', 'schedule', 'run', 'mine');
    ok(ran);
    expect(ran.data).toMatchObject({ job: 'mine', outcome: 'ok', exitStatus: 0 });
    const log = await run('opss', 'schedule', 'log', 'mine');
    expect((log.data as { runs: { outcome: string; output: string }[] }).runs[0]).toMatchObject({ outcome: 'ok' });
    expect((log.data as { runs: { output: string }[] }).runs[0]!.output).toContain('hostname');
    // An administrator may run it too; it runs as its owner.
    ok(await admin('schedule', 'run', 'mine'));
  });

  it('are checked again before a run: a job from an older store that changes the schedule does not run', async () => {
    storeSql("INSERT INTO schedule_jobs (name, owner, words, timing, enabled, created_at, last_due) VALUES ('legacy', 'opss', ?, ?, 1, ?, NULL)", JSON.stringify(['sch', 'add', 'sneaky', 'system', 'info']), JSON.stringify({ kind: 'hours', every: 1 }), new Date().toISOString());
    const ran = await run('opss', 'schedule', 'run', 'legacy');
    expect(ran).toMatchObject({ type: 'result', exitStatus: 1 });
    expect(JSON.stringify(ran.data)).toContain('cannot change the schedule');
    expect(((await admin('schedule', 'list')).data as { job: string }[]).map((j) => j.job)).not.toContain('sneaky');
  });

  it("go with their owner: a new user of the same name inherits none", async () => {
    ok(await admin('user', 'del', 'opss'));
    expect(((await admin('schedule', 'list')).data as { owner: string }[]).some((j) => j.owner === 'opss')).toBe(false);
    await addUser('opss', ['schedule']);
    expect((await run('opss', 'schedule', 'list')).data).toEqual([]);
    expect(await run('opss', 'schedule', 'log', 'mine')).toMatchObject({ type: 'error', code: 'no-such-job' });
  });
});

describe('SSH session slots', () => {
  const held: Socket[] = [];
  afterAll(() => {
    for (const socket of held.splice(0)) socket.destroy();
  });

  /** Asks for a session and, when granted, holds it open as a console does. */
  function openSession(user: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketOf(node.home));
      let text = '';
      socket.on('error', reject);
      socket.on('connect', () => socket.write(JSON.stringify({ op: 'session', kind: 'login', caller: as(user) }) + '\n'));
      socket.on('data', (d) => {
        text += d;
        if (!text.includes('\n')) return;
        const answer = JSON.parse(text.split('\n')[0]!) as Answer;
        if (answer.type === 'session') held.push(socket);
        else socket.destroy();
        resolve(answer);
      });
    });
  }

  beforeAll(async () => {
    await addUser('slotsa');
    await addUser('slotsb');
    await addUser('slotsc');
    ok(await admin('system', 'ssh_session_limit', 'set', '4'));
  });

  it('a user holds half the limit at most, the last slot is the administrator\'s, and the administrator still gets in', async () => {
    expect(await openSession('slotsa')).toMatchObject({ type: 'session', active: 1 });
    expect(await openSession('slotsa')).toMatchObject({ type: 'session', active: 2 });
    const third = await openSession('slotsa');
    expect(third).toMatchObject({ type: 'error', code: 'session-refused', exitStatus: 1 });
    expect(String(third.message)).toContain('slotsa already holds 2 SSH sessions');
    expect(await openSession('slotsb')).toMatchObject({ type: 'session', active: 3 });
    const last = await openSession('slotsc');
    expect(last).toMatchObject({ type: 'error', code: 'session-refused' });
    expect(String(last.message)).toContain('kept for an administrator');
    expect(await openSession('platform')).toMatchObject({ type: 'session', active: 4 });
    const full = await openSession('platform');
    expect(String(full.message)).toContain('already has 4 SSH sessions');
  });

  it('frees the slots of sessions that ended', async () => {
    for (const socket of held.splice(0)) socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await openSession('slotsc')).toMatchObject({ type: 'session', active: 1 });
  });
});
