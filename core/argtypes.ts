// Argument types: each parses one typed word or refuses it with a message
// that names what is wrong. Validation happens here, before any command
// runs, so a `run` only ever sees well-formed values.

import { isIP } from 'node:net';
import { badInput } from './errors.js';
import { type ArgType } from './command.js';
import { canonicalHostPort, isHostname, LABEL } from './grammar.js';

export { isHostname };

export const text = (hint = '<text>'): ArgType<string> => ({
  hint,
  parse(value) {
    if (value.length === 0) throw badInput('empty-argument', `${hint} must not be empty`);
    return value;
  },
});

/** The rest of a line that is itself a console command: its secrets are hidden as that command hides them (commands/tree.ts). */
export const commandLine = (hint = '<command>'): ArgType<string> => ({ ...text(hint), command: true });

/** A whole number in plain decimal: no sign but a minus, no leading zeros, no spaces, nothing after it. */
export const integer = (hint: string, min: number, max: number): ArgType<number> => ({
  hint,
  accepts: `${min}..${max}`,
  parse(value) {
    if (!/^(0|-?[1-9][0-9]{0,15})$/.test(value)) throw badInput('not-a-number', `${hint}: "${value}" is not a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw badInput('out-of-range', `${hint}: ${n} is outside ${min}..${max}`);
    return n;
  },
});

export const choice = <T extends string>(hint: string, choices: readonly T[]): ArgType<T> => ({
  hint,
  choices,
  parse(value) {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw badInput('bad-choice', `${hint}: "${value}" is not one of ${choices.join(', ')}`);
  },
});

export const ipAddress = (hint = '<ip>'): ArgType<string> => ({
  hint,
  parse(value) {
    const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
    if (isIP(bare) === 0) throw badInput('bad-address', `${hint}: "${value}" is not an IPv4 or IPv6 address`);
    return bare.toLowerCase();
  },
});

export const hostname = (hint = '<hostname>'): ArgType<string> => ({
  hint,
  parse(value) {
    if (!isHostname(value)) {
      throw badInput('bad-hostname', `${hint}: "${value}" is not a valid host name (letters, digits and hyphens, dot-separated labels)`);
    }
    return value.toLowerCase();
  },
});

/** A host name or an IP address. */
export const host = (hint = '<host>'): ArgType<string> => ({
  hint,
  parse(value) {
    const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
    if (isIP(bare) !== 0) return bare.toLowerCase();
    if (isHostname(value)) return value.toLowerCase();
    throw badInput('bad-host', `${hint}: "${value}" is neither an IP address nor a host name`);
  },
});

/** A comma-separated list of values of one type: `a,b,c`. */
export const listOf = <T>(item: ArgType<T>, hint = `${item.hint}[,...]`): ArgType<T[]> => ({
  hint,
  choices: item.choices,
  parse(value) {
    const parts = value.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
    if (parts.length === 0) throw badInput('empty-list', `${hint} must name at least one value`);
    return parts.map((p) => item.parse(p));
  },
});

/** A plain name for things the administrator labels (backup locations, jobs). */
export const name = (hint = '<name>'): ArgType<string> => ({
  hint,
  parse(value) {
    if (!LABEL.test(value)) {
      throw badInput('bad-name', `${hint}: "${value}" must start with a letter and hold only letters, digits, ".", "_" and "-" (64 at most)`);
    }
    return value;
  },
});

/** A secret typed on the command line: never shown, never audited. */
export const secret = (hint = '<password>'): ArgType<string> => ({
  hint,
  parse: (value) => value,
  redact: () => '***',
});

/** `host:port`: a host name or IPv4 address, or an IPv6 address in brackets, and a port 1..65535. */
export const hostPort = (hint = '<server:port>'): ArgType<string> => ({
  hint,
  parse(value) {
    const canonical = canonicalHostPort(value);
    if (canonical === undefined) throw badInput('bad-server', `${hint}: "${value}" is not host:port (a host name or address, IPv6 as [addr]:port, and a port 1..65535)`);
    return canonical;
  },
});
