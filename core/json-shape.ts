// What a command's `--json` prints, declared next to the command and checked
// by test/foundation/json-shapes.test.ts over the whole tree. One convention
// for every command:
//   - object keys are camelCase;
//   - lists are arrays (never the string "none"), absent values are null
//     (every key is always present);
//   - booleans are booleans (never "yes"/"no"); times are ISO 8601 strings.
// A shape is also a TypeScript type: `JsonOf<typeof shape>`.

export interface Shape<T = unknown> {
  /** For messages: `string`, `array of ...`. */
  readonly description: string;
  /** Appends a message for each place where `value` breaks the shape. */
  check(value: unknown, at: string, problems: string[]): void;
  /** Type carrier only, never set. */
  readonly __type?: T;
}

export type JsonOf<S> = S extends Shape<infer T> ? T : never;

const CAMEL_CASE = /^[a-z][a-zA-Z0-9]*$/;
/** Strings that stand for a boolean, an empty list or a missing value in text output. */
const TEXT_PLACEHOLDERS = new Set(['yes', 'no', 'none', 'value not set', 'on', 'off']);
const ISO_8601 = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;

const describe = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'string' ? `"${value.slice(0, 40)}"` : typeof value);

function scalar<T>(description: string, ok: (value: unknown) => boolean): Shape<T> {
  return {
    description,
    check(value, at, problems) {
      if (!ok(value)) problems.push(`${at}: ${describe(value)} is not ${description}`);
    },
  };
}

type Props = Record<string, Shape<any>>;
type ObjectOf<P extends Props> = { [K in keyof P]: JsonOf<P[K]> };

export const json = {
  /** Free text; a placeholder such as "none" or "yes" is refused (use an array, null or a boolean). */
  string: (): Shape<string> => scalar('a string', (v) => typeof v === 'string' && !TEXT_PLACEHOLDERS.has(v)),
  /** One of fixed words (states like "running", modes like "plan"). */
  oneOf: <T extends string>(...values: T[]): Shape<T> => scalar(`one of ${values.join('|')}`, (v) => typeof v === 'string' && (values as string[]).includes(v)),
  number: (): Shape<number> => scalar('a number', (v) => typeof v === 'number' && Number.isFinite(v)),
  integer: (): Shape<number> => scalar('an integer', (v) => Number.isInteger(v)),
  boolean: (): Shape<boolean> => scalar('a boolean', (v) => typeof v === 'boolean'),
  /** A point in time, ISO 8601 with its offset: 2026-11-29T14:00:00.000Z. */
  time: (): Shape<string> => scalar('an ISO 8601 time', (v) => typeof v === 'string' && ISO_8601.test(v) && !Number.isNaN(Date.parse(v))),
  /** Any JSON value: another command's data (`cluster run`), whose own shape is declared beside that command. */
  any: (): Shape<unknown> => scalar('any JSON value', (v) => v !== undefined),
  nullable<T>(shape: Shape<T>): Shape<T | null> {
    return {
      description: `${shape.description} or null`,
      check(value, at, problems) {
        if (value !== null) shape.check(value, at, problems);
      },
    };
  },
  array<T>(item: Shape<T>): Shape<T[]> {
    return {
      description: `an array of ${item.description}`,
      check(value, at, problems) {
        if (!Array.isArray(value)) return void problems.push(`${at}: ${describe(value)} is not an array`);
        value.forEach((v, i) => item.check(v, `${at}[${i}]`, problems));
      },
    };
  },
  /** Exactly these keys, each always present (null when absent). */
  object<P extends Props>(props: P): Shape<ObjectOf<P>> {
    for (const key of Object.keys(props)) if (!CAMEL_CASE.test(key)) throw new Error(`JSON key "${key}" is not camelCase`);
    return {
      description: `an object {${Object.keys(props).join(', ')}}`,
      check(value, at, problems) {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return void problems.push(`${at}: ${describe(value)} is not an object`);
        const record = value as Record<string, unknown>;
        for (const [key, shape] of Object.entries(props)) {
          if (!(key in record)) problems.push(`${at}.${key}: missing (absent values are null)`);
          else shape.check(record[key], `${at}.${key}`, problems);
        }
        for (const key of Object.keys(record)) if (!(key in props)) problems.push(`${at}.${key}: not declared`);
      },
    };
  },
  /** A map whose keys are data (names the administrator chose), not field names. */
  map<T>(value: Shape<T>): Shape<Record<string, T>> {
    return {
      description: `a map of ${value.description}`,
      check(v, at, problems) {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return void problems.push(`${at}: ${describe(v)} is not an object`);
        for (const [key, item] of Object.entries(v)) value.check(item, `${at}["${key}"]`, problems);
      },
    };
  },
  /** The first shape that fits. */
  union<S extends Shape<any>[]>(...shapes: S): Shape<JsonOf<S[number]>> {
    return {
      description: shapes.map((s) => s.description).join(' | '),
      check(value, at, problems) {
        const attempts = shapes.map((shape) => {
          const found: string[] = [];
          shape.check(value, at, found);
          return found;
        });
        if (attempts.some((found) => found.length === 0)) return;
        problems.push(...attempts.reduce((best, found) => (found.length < best.length ? found : best)));
      },
    };
  },
};

/** What every command prints with `--json` when it fails. */
export const errorShape = json.object({
  error: json.object({ code: json.string(), message: json.string(), hints: json.array(json.string()) }),
});

/** The places where `value` breaks `shape`; empty when it fits. */
export function shapeProblems(shape: Shape, value: unknown): string[] {
  const problems: string[] = [];
  shape.check(value, '$', problems);
  return problems;
}

/** Commands that answer with a sentence: `{ message }` (reply.text). */
export const messageShape = json.object({ message: json.string() });
