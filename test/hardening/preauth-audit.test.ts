// The audit log cannot be made to fill the disk. Requests of callers that
// proved nothing are counted (per minute, per kernel uid, per outcome),
// never a row of their words each: a flood of refused 60 KB requests adds
// no row and a few bytes. The log itself stays within its bound of rows and
// bytes, the oldest entries going first. (Before: 178 rows a second of
// 61 KB, 39 GB an hour, kept 365 days.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { connect } from 'node:net';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../store/db.js';
import { startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';
import { socketOf } from './raw-socket.js';

const rowsOf = (file: string, sql: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, number>[];
  } finally {
    db.close();
  }
};

describe('the audit log\'s bound (store/audit.ts)', () => {
  it('keeps at most its rows and bytes, dropping the oldest entries first', () => {
    const file = join(tempHome('ps-audit-bound-'), 'config.db');
    const store = Store.open(file);
    store.audit.limits = { ...store.audit.limits, rows: 100, bytes: 30_000 };
    for (let i = 0; i < 1500; i++) {
      // Words of every size: some rows are small, some weigh a kilobyte.
      store.audit.record({ user: 'platform', origin: 'console', address: null, words: `entry ${i} ${'w'.repeat((i * 37) % 1000)}`, outcome: 'ok', exit_status: 0, message: null });
      expect(store.audit.size().rows).toBeLessThanOrEqual(100);
      expect(store.audit.size().bytes).toBeLessThanOrEqual(30_000);
    }
    store.close();
    const [held] = rowsOf(file, 'SELECT count(*) AS rows, sum(length(words) + length(user) + length(origin) + length(at) + length(outcome)) AS bytes, min(id) AS oldest, max(id) AS newest FROM audit');
    // What the store counted is what the table holds.
    expect(held!.rows).toBeLessThanOrEqual(100);
    expect(held!.bytes).toBeLessThanOrEqual(30_000);
    expect(held!.newest).toBe(1500);
    expect(held!.newest! - held!.oldest! + 1).toBe(held!.rows); // only the oldest went
    // A store opened afresh counts the same size.
    const reopened = Store.open(file);
    expect(reopened.audit.size()).toEqual({ rows: held!.rows, bytes: held!.bytes });
    reopened.close();
  });

  it('counts unproven requests per minute, caller and outcome, within a bound of rows', () => {
    const file = join(tempHome('ps-audit-unproven-'), 'config.db');
    const store = Store.open(file);
    // Written once a minute here (each write is a synced transaction).
    store.audit.limits = { ...store.audit.limits, unprovenRows: 50, flushMs: 60_000 };
    const start = Date.parse('2026-12-01T00:00:00Z');
    for (let i = 0; i < 6000; i++) store.audit.countUnproven(i % 3 === 0 ? 'uid 1000' : '(unproven)', i % 2 ? 'refused' : 'bad-input', new Date(start + i * 1000));
    store.audit.flushUnproven();
    store.close();
    const [counted] = rowsOf(file, 'SELECT count(*) AS rows, sum(count) AS requests, min(minute) AS oldest FROM audit_unproven');
    expect(counted!.rows).toBeLessThanOrEqual(50);
    // 100 minutes of 4 counters each: the newest stay whole.
    const lastMinute = rowsOf(file, "SELECT sum(count) AS requests FROM audit_unproven WHERE minute = '2026-12-01T01:39:00.000Z'")[0]!;
    expect(lastMinute.requests).toBe(60);
    expect(rowsOf(file, 'SELECT count(*) AS rows FROM audit')[0]!.rows).toBe(0);
  });
});

describe('a flood of refused requests without a token', () => {
  let node: RunningDaemon;
  beforeAll(async () => {
    node = await startDaemon();
  });
  afterAll(async () => {
    await node.stop();
  });

  /** One tokenless `run` of 15 words of 4,000 "a" (the report's request), its answer read. */
  const refusedRequest = (words: string[]) =>
    new Promise<string>((resolve) => {
      const socket = connect(socketOf(node.home));
      let text = '';
      socket.on('connect', () => socket.write(JSON.stringify({ op: 'run', words, caller: { user: 'platform', interactive: false, assumeYes: true } }) + '\n'));
      socket.on('data', (d) => (text += d));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });

  it('adds no audit row and a few bytes, and `log audit` shows how many there were', async () => {
    const database = join(node.home, 'config.db');
    const rowsBefore = rowsOf(database, 'SELECT count(*) AS n FROM audit')[0]!.n;
    const bytesBefore = statSync(database).size + statSync(`${database}-wal`).size;
    const shapes = ['a', '@', ':', 'a:', 'ftp://u:'];
    const REQUESTS = 600;
    let refused = 0;
    for (let sent = 0; sent < REQUESTS; sent += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => refusedRequest(Array.from({ length: 15 }, () => shapes[(sent + i) % shapes.length]!.repeat(Math.floor(4000 / shapes[(sent + i) % shapes.length]!.length))))));
      refused += answers.filter((a) => a.includes('"type":"error"')).length;
    }
    expect(refused).toBe(REQUESTS);
    expect(rowsOf(database, 'SELECT count(*) AS n FROM audit')[0]!.n).toBe(rowsBefore);
    const shown = JSON.parse((await node.platform(['--json', 'log', 'audit', '--since', '1h', '--limit', '1000'])).stdout) as { id: number | null; user: string; outcome: string; count: number; words: string }[];
    const counted = shown.filter((row) => row.id === null);
    // Tests run as root: the kernel names the peer uid 0; the name the requests claimed is in no row.
    expect(counted.every((row) => row.user === 'uid 0')).toBe(true);
    expect(counted.reduce((sum, row) => sum + row.count, 0)).toBe(REQUESTS);
    expect(JSON.stringify(shown)).not.toContain('aaaa');
    // 600 requests of 60 KB each (36 MB) left at most a few pages: counts, not words.
    const bytesAfter = statSync(database).size + statSync(`${database}-wal`).size;
    expect(bytesAfter - bytesBefore).toBeLessThan(1024 * 1024);
  }, 120_000);
});
