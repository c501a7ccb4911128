// A tiny parser for the programs' own flags (--home, --json ...). Command
// words and their arguments are parsed by the command tree, not here.

export class FlagError extends Error {}

export type FlagKinds = Record<string, 'flag' | 'value'>;

export interface Flags {
  flags: Record<string, true>;
  values: Record<string, string>;
  /** Everything from the first word that is not one of our flags. */
  rest: string[];
}

export function parseFlags(argv: readonly string[], kinds: FlagKinds): Flags {
  const out: Flags = { flags: {}, values: {}, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(word);
    const kind = match ? kinds[match[1]!] : undefined;
    if (!match || !kind) {
      out.rest = argv.slice(i);
      break;
    }
    const name = match[1]!;
    if (kind === 'flag') out.flags[name] = true;
    else {
      const value = match[2] ?? argv[++i];
      if (value === undefined) throw new FlagError(`--${name} needs a value`);
      out.values[name] = value;
    }
  }
  return out;
}
