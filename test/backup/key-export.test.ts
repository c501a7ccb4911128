// `backup key export`: the backup key printed again, after `backup key show`
// has used its one showing, to an administrator at a terminal who answered
// yes to a question saying so. Spoken to a real platformd as the console
// speaks it (shell/client.ts). Refused to anyone else: a user granted the
// whole backup group, a script, a scheduled job (whose output the store
// keeps). The key never reaches the audit log, platformd.log or the store.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../../shell/client.js';
import { groups } from '../../commands/index.js';
import { buildTree, commandsUnder } from '../../commands/tree.js';
import { shapeProblems } from '../../core/json-shape.js';
import { whyAdminOnly } from '../../commands/admin-only.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { provenCaller, socketOf } from '../hardening/raw-socket.js';

let node: RunningDaemon;
let shownKey = '';

beforeAll(async () => {
  node = await startDaemon();
  expect((await node.platform(['system', 'setup', '--hostname', 'key01', '--role', 'webproxy'])).status).toBe(0);
});
afterAll(async () => {
  await node?.stop();
});

/** `backup key export` as an administrator's interactive console sends it, answering its question with `yes`; returns the daemon's answer and the questions asked. */
async function exportAt(answer: boolean, user = 'platform') {
  const questions: string[] = [];
  const final = await request(
    socketOf(node.home),
    { op: 'run', words: ['backup', 'key', 'export'], caller: { ...provenCaller(node.home, user), interactive: true, assumeYes: false } },
    {
      async confirm(question) {
        questions.push(question);
        return answer;
      },
    },
  );
  return { final, questions };
}

/** What a successful export hands the console. */
const printed = (final: Awaited<ReturnType<typeof request>>) => (final.type === 'result' ? (final.data as { key: string; keyId: string }) : undefined);
const keyIn = (text: string) => /psbk1-[A-Za-z0-9_-]{43}/.exec(text)?.[0];

describe('backup key export', () => {
  it('says how to make a key when the node has none', async () => {
    const { final, questions } = await exportAt(true);
    expect(final).toMatchObject({ type: 'error', code: 'no-backup-key', exitStatus: 1 });
    expect(questions).toEqual([]);
  });

  it('is what "backup key show" points to once it has shown the key', async () => {
    expect((await node.platform(['backup', 'key', 'generate'])).status).toBe(0);
    const shown = await node.platform(['backup', 'key', 'show']);
    expect(shown.status, shown.stderr).toBe(0);
    shownKey = keyIn(shown.stdout)!;
    expect(shownKey).toBeDefined();
    const again = await node.platform(['backup', 'key', 'show']);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('printed only once');
    expect(again.stderr).toContain('"backup key export"');
    expect(keyIn(again.stdout + again.stderr)).toBeUndefined();
  });

  it('asks first, saying the key will be on the screen; no prints nothing', async () => {
    const { final, questions } = await exportAt(false);
    expect(questions).toHaveLength(1);
    expect(questions[0]).toContain('prints the backup key on the screen');
    expect(final).toMatchObject({ type: 'error', code: 'not-confirmed', exitStatus: 1 });
    expect(keyIn(JSON.stringify(final))).toBeUndefined();
  });

  it('prints the key shown at first, in the declared JSON shape, after yes', async () => {
    const { final, questions } = await exportAt(true);
    expect(questions).toHaveLength(1);
    expect(final).toMatchObject({ type: 'result', exitStatus: 0 });
    const data = printed(final)!;
    expect(data.key).toBe(shownKey);
    // The key the node encrypts with: the file platformd reads.
    expect(readFileSync(join(node.home, 'etc', 'backup', 'backup.key'), 'utf8').trim()).toBe(data.key);
    const command = commandsUnder(buildTree(groups)).find((c) => c.words.join(' ') === 'backup key export')!;
    expect(shapeProblems(command.json!, data)).toEqual([]);
    // Printed again as often as an administrator asks.
    expect(printed((await exportAt(true)).final)?.key).toBe(shownKey);
  });

  it('is refused to a script, even with --yes: its output may be kept anywhere', async () => {
    // The one-shot console, as root runs it from a shell: no terminal (its output is a pipe).
    const oneShot = await node.platform(['backup', 'key', 'export', '--yes']);
    expect(oneShot.status).toBe(2);
    expect(oneShot.stderr).toContain('only to a person at the console');
    expect(keyIn(oneShot.stdout + oneShot.stderr)).toBeUndefined();
  });

  it('is refused to a scheduled job, whose output the store would keep', async () => {
    const added = await node.platform(['schedule', 'add', 'leak', 'backup', 'key', 'export']);
    expect(added.status).toBe(2);
    expect(added.stdout + added.stderr).toContain('prints a secret, which a job\'s log would keep');
    expect((await node.platform(['schedule', 'list'])).stdout).not.toContain('leak');
  });

  it("is the administrators' alone: a user granted the whole backup group is refused it, and told why", async () => {
    expect(whyAdminOnly(['backup', 'key', 'export'])).toBe('prints the key that reads every backup of the node');
    expect((await node.platform(['user', 'add', 'operator'])).status).toBe(0);
    expect((await node.platform(['user', 'grant', 'operator', 'backup'])).status).toBe(0);
    const { final, questions } = await exportAt(true, 'operator');
    expect(questions).toEqual([]);
    expect(final).toMatchObject({ type: 'error', code: 'not-permitted', exitStatus: 1 });
    expect((final as { message: string }).message).toContain('you have no right to run "backup key export": only an administrator may run it');
    expect(keyIn(JSON.stringify(final))).toBeUndefined();
  });

  it('is audited, and the key is in no log and nowhere in the store', async () => {
    const audit = await node.platform(['--json', 'log', 'audit', '--limit', '100']);
    const exports = (JSON.parse(audit.stdout) as { words: string; outcome: string; user: string }[]).filter((e) => e.words === 'backup key export');
    expect(exports.map((e) => `${e.user} ${e.outcome}`)).toEqual(expect.arrayContaining(['platform ok', 'platform failed', 'root bad-input', 'operator refused']));
    expect(audit.stdout).not.toContain(shownKey);
    expect(readFileSync(join(node.home, 'logs', 'platformd.log'), 'utf8')).not.toContain(shownKey);
    // The store's files as they are on disk (the database and its write-ahead log): the schedule's log and the audit rows included.
    for (const file of readdirSync(node.home).filter((f) => f.startsWith('config.db'))) {
      expect(readFileSync(join(node.home, file)).includes(Buffer.from(shownKey)), file).toBe(false);
    }
  });
});
