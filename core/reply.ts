// What a command returns: blocks for the text and Ink renderers, data for
// `--json`. Nothing here prints; the same Reply is drawn by every renderer.

import type { ExitStatus } from './errors.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type Block =
  /** Free text, printed as is. */
  | { kind: 'text'; text: string }
  /** A YAML-ish nested key/value tree, as the appliance prints config. */
  | { kind: 'tree'; value: { [key: string]: Json } }
  /** Columns and rows of strings. */
  | { kind: 'table'; columns: string[]; rows: string[][] }
  /** `USAGE:` listing of a group: syntax and description pairs. */
  | { kind: 'usage'; entries: [string, string][] }
  /** A line the console draws in the warning colour. */
  | { kind: 'warning'; text: string }
  /** A long text (a log): paged on a terminal (scroll, / search, n/N, q), printed as is elsewhere. */
  | { kind: 'page'; title: string; text: string };

export interface Reply {
  /** What the text and Ink renderers show, in order. */
  blocks: Block[];
  /** What `--json` prints; when absent, derived from the blocks. */
  data?: Json;
  /** Non-zero when the command ran but reports a failure (e.g. a check). */
  exitStatus?: ExitStatus;
}

/** A label as a JSON key: `last change` → `lastChange`, `maintenance-mode` → `maintenanceMode`, `CN` → `cn`. */
export function camelKey(label: string): string {
  const words = label.split(/[\s_-]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? (w === w.toUpperCase() ? w.toLowerCase() : w[0]!.toLowerCase() + w.slice(1)) : w[0]!.toUpperCase() + w.slice(1))).join('');
}

/** The JSON of a tree shown as text: the same values, keys in camelCase (core/json-shape.ts). */
function camelKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camelKey(k), camelKeys(v)]));
}

export const reply = {
  /** Text; its JSON is `{ message }` unless given. */
  text: (text: string, data?: Json): Reply => ({ blocks: [{ kind: 'text', text }], data: data ?? { message: text } }),
  tree: (value: { [key: string]: Json }, data?: Json): Reply => ({ blocks: [{ kind: 'tree', value }], data: data ?? camelKeys(value) }),
  table: (columns: string[], rows: string[][], data?: Json): Reply => ({
    blocks: [{ kind: 'table', columns, rows }],
    data: data ?? rows.map((row) => Object.fromEntries(columns.map((c, i) => [camelKey(c), row[i] ?? '']))),
  }),
  blocks: (blocks: Block[], data?: Json, exitStatus?: ExitStatus): Reply => ({ blocks, data, exitStatus }),
};

