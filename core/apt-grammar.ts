// The grammars of what the OS security updates (updates/) hand to apt and
// read back from it: Debian package names and versions (Debian Policy 5.6.1,
// 5.6.12), a repository's suite and components, and the one rule for every
// value written into apt's configuration or a sources line. Pure predicates,
// shared by the commands, the apt runner and the store's setting shapes
// (store/settings.ts, which a worker thread also loads: erasable syntax only).

/** A package name: lower-case letters, digits, `+ - .`, starting with a letter or digit, at least two characters. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]{1,127}$/;
/** A package as apt may print it: its name and, on a multi-arch system, `:arch`. */
export const PACKAGE_WITH_ARCH = /^[a-z0-9][a-z0-9+.-]{1,127}(?::[a-z0-9-]{1,32})?$/;
/** A version: `[epoch:]upstream[-revision]`, the upstream part starting with a digit. */
export const PACKAGE_VERSION = /^(?:[0-9]{1,9}:)?[0-9][A-Za-z0-9.+~:-]{0,126}$/;
/** A suite (`bookworm-security`, `stable`) or a component (`main`; `updates/main` in older layouts): letters, digits, `. _ -`, a component one `/` at most. */
export const SUITE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(?:\/[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/;

/**
 * A value apt's configuration file or a sources line may hold: printable
 * ASCII without white space, quotes, backslashes, braces, `;`, `#` or
 * brackets. Nothing in it can end a value, start a new option or a new
 * sources entry, or open a comment.
 */
export const APT_SAFE_VALUE = /^[A-Za-z0-9%:/@._~+=,!$&'()*-]{1,2048}$/;

/** Why `value` may not be written into apt's configuration, or undefined when it may. */
export function aptValueProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > 2048) return 'is longer than 2048 characters';
  return APT_SAFE_VALUE.test(value) ? undefined : 'holds a character apt\'s configuration cannot carry safely (white space, a quote, a backslash, ";", "#", braces or brackets)';
}
