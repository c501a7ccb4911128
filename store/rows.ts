// The one shape of each table's rows, column by column: what a repository
// writes, what it accepts when it reads a row back, what a restored store
// must hold row for row, and what the node checks at start. A column kept as
// JSON is checked after parsing; a sealed column's clear text is checked once
// opened (the worker that reads a restored store has no key: it checks the
// sealed form, and the copy checks the clear text as it reseals).
// A worker thread loads this module too (see store/shapes.ts): erasable syntax only.

import * as z from 'zod/mini';
import { ROLE_NAMES } from '../catalog/roles.js';
import { SETTINGS, settingProblem } from './settings.js';
import { address, bit, invalidStore, eventLevel as level, hostname, hostPort, isoTime, label, line, problemOf, sealedText, uri, userName, whole } from './shapes.js';

export interface Column {
  readonly shape: z.ZodMiniType;
  /** Kept as JSON text: `shape` is the parsed value's. */
  readonly json?: boolean;
  /** Sealed at rest: `shape` is the clear text's. */
  readonly sealed?: boolean;
}

export interface TableShape {
  /** The columns that name a row in a message ("users \"ann\""). */
  readonly key: readonly string[];
  readonly columns: Readonly<Record<string, Column>>;
  /** Configuration, checked whole when the node starts; the others (logs, queues) are checked as they are read. */
  readonly checkedAtStart: boolean;
}

const eventName = z.string().check(z.regex(/^[a-z][a-z0-9-]{0,63}$/, 'not an event name'));
const id = whole(1, Number.MAX_SAFE_INTEGER);
const count = whole(0, Number.MAX_SAFE_INTEGER);
const exitStatus = whole(0, 255);
/** A certificate's SHA-256 as Node writes it (hex pairs and colons). */
const fingerprint = z.string().check(z.regex(/^[0-9A-F:]{1,128}$/i, 'not a certificate fingerprint'));
/** Command words as a person typed them (the console's words: at most 256 of 4096 characters). */
const words = z.array(z.string().check(z.maxLength(4096))).check(z.minLength(1), z.maxLength(256));
const timing = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('daily'), hour: whole(0, 23), minute: whole(0, 59) }),
  z.strictObject({ kind: z.literal('hours'), every: whole(1, 23) }),
  z.strictObject({ kind: z.literal('weekly'), day: whole(0, 6) }),
]);
/** Free text the product recorded (command output, messages): bounded, any characters (escaped when shown). */
const recorded = (max: number) => z.string().check(z.maxLength(max));

const col = (shape: z.ZodMiniType): Column => ({ shape });
const json = (shape: z.ZodMiniType): Column => ({ shape, json: true });
const sealed = (shape: z.ZodMiniType): Column => ({ shape, sealed: true });
const optional = (shape: z.ZodMiniType) => z.nullable(shape);

export const TABLE_SHAPES = {
  settings: { key: ['key'], checkedAtStart: true, columns: { key: col(z.enum(Object.keys(SETTINGS) as [string, ...string[]])), value: col(z.string()) } },
  audit: {
    key: ['id'],
    checkedAtStart: false,
    columns: {
      id: col(id),
      at: col(isoTime),
      user: col(line(64)),
      origin: col(z.enum(['console', 'ssh', 'cluster', 'local'])),
      address: col(optional(line(128))),
      words: col(recorded(2 * 1024 * 1024)),
      outcome: col(z.enum(['ok', 'failed', 'bad-input', 'refused', 'cancelled'])),
      exit_status: col(exitStatus),
      message: col(optional(recorded(64 * 1024))),
    },
  },
  audit_unproven: {
    key: ['minute', 'caller', 'outcome'],
    checkedAtStart: false,
    columns: {
      minute: col(isoTime),
      caller: col(line(64)),
      outcome: col(z.enum(['ok', 'failed', 'bad-input', 'refused', 'cancelled'])),
      count: col(whole(1, Number.MAX_SAFE_INTEGER)),
    },
  },
  users: { key: ['name'], checkedAtStart: true, columns: { name: col(userName), must_change: col(bit), created_at: col(isoTime) } },
  user_rights: { key: ['user', 'prefix'], checkedAtStart: true, columns: { user: col(userName), prefix: col(line(1024).check(z.regex(/^[a-z0-9_-]+( [^ ]+)*$/i, 'not command words'))) } },
  cluster_nodes: {
    key: ['address'],
    checkedAtStart: true,
    columns: {
      address: col(address),
      hostname: col(hostname),
      roles: json(z.array(z.enum(ROLE_NAMES)).check(z.maxLength(ROLE_NAMES.length))),
      data_centre: col(label),
      is_primary: col(bit),
      fingerprint: col(optional(fingerprint)),
      joined_at: col(isoTime),
      last_seen: col(optional(isoTime)),
    },
  },
  backup_locations: { key: ['name'], checkedAtStart: true, columns: { name: col(label), uri: sealed(uri()), alternate: sealed(optional(uri())) } },
  notify_targets: { key: ['level'], checkedAtStart: true, columns: { level: col(level), uri: sealed(uri(['mailto', 'snmp'])) } },
  web_weights: { key: ['server'], checkedAtStart: true, columns: { server: col(hostPort), weight: col(whole(0, 100)) } },
  schedule_jobs: {
    key: ['name'],
    checkedAtStart: true,
    columns: { name: col(label), owner: col(userName), words: json(words), timing: json(timing), enabled: col(bit), created_at: col(isoTime), last_due: col(optional(isoTime)) },
  },
  schedule_runs: {
    key: ['id'],
    checkedAtStart: false,
    columns: { id: col(id), job: col(label), due: col(isoTime), started_at: col(isoTime), outcome: col(z.enum(['ok', 'failed', 'skipped'])), exit_status: col(optional(exitStatus)), output: col(optional(recorded(64 * 1024))) },
  },
  events: { key: ['id'], checkedAtStart: false, columns: { id: col(id), at: col(isoTime), level: col(level), name: col(eventName), text: col(recorded(4096)) } },
  mailbox: { key: ['id'], checkedAtStart: false, columns: { id: col(id), event_id: col(id), at: col(isoTime), level: col(level), name: col(eventName), text: col(recorded(4096)), read: col(bit) } },
  outbox: {
    key: ['id'],
    checkedAtStart: false,
    columns: {
      id: col(id),
      target: col(line(128)),
      event_id: col(id),
      at: col(isoTime),
      level: col(level),
      name: col(eventName),
      text: col(recorded(4096)),
      held: col(bit),
      attempts: col(count),
      last_error: col(optional(recorded(1000))),
    },
  },
} as const satisfies Record<string, TableShape>;

export type TableName = keyof typeof TABLE_SHAPES;
export const isTableName = (name: string): name is TableName => Object.hasOwn(TABLE_SHAPES, name);

/** How a message names a row: its key columns, quoted, control characters escaped, bounded. */
export function rowKey(table: TableName, row: Record<string, unknown>): string {
  const shown = (TABLE_SHAPES[table] as TableShape).key.map((column) => JSON.stringify(String(row[column]).slice(0, 80)));
  return `${table} ${shown.join(' ')}`;
}

/**
 * What is wrong with a row as SQLite gives it, or undefined. Without
 * `unseal`, a sealed column is checked in its sealed form only.
 */
export function rowProblem(table: TableName, row: Record<string, unknown>, unseal?: (stored: string) => string): string | undefined {
  if (table === 'settings') return settingProblem(row.key, row.value, unseal);
  const { columns } = TABLE_SHAPES[table] as TableShape;
  for (const [name, column] of Object.entries(columns)) {
    let value = row[name];
    if (column.json) {
      if (typeof value !== 'string' || value.length > 1024 * 1024) return `${name}: not JSON text`;
      try {
        value = JSON.parse(value) as unknown;
      } catch {
        return `${name}: not JSON`;
      }
    }
    // A sealed column that may be empty holds NULL, never a sealed empty value.
    if (column.sealed && !(value === null && problemOf(column.shape, null) === undefined)) {
      const problem = problemOf(sealedText, value);
      if (problem) return `${name}: ${problem}`;
      if (!unseal) continue;
      try {
        value = unseal(value as string);
      } catch (error) {
        return `${name}: ${(error as Error).message}`;
      }
    }
    const problem = problemOf(column.shape, value);
    if (problem) return `${name}: ${problem}`;
  }
  const extra = Object.keys(row).find((name) => !(name in columns) && name !== 'rowid');
  return extra === undefined ? undefined : `${extra}: a column this product does not have`;
}

/** The row, if it fits its table's shape; else a "store-invalid" failure naming the table and row. */
export function checkedRow<Row extends object>(table: TableName, row: Row, unseal?: (stored: string) => string): Row {
  const problem = rowProblem(table, row as Record<string, unknown>, unseal);
  if (problem) throw invalidStore(rowKey(table, row as Record<string, unknown>), problem);
  return row;
}
