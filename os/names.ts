// Names are never paths. Every value that becomes part of a file name
// (certificate common names, media files, locations, users, jobs, key
// names) goes through `safeName`, and every file the daemon writes or reads
// by such a name is joined to its folder with `fileIn`: nothing typed by a
// person, or stored from such a typing, can name a file outside that folder.

import { join } from 'node:path';
import { badInput } from '../core/errors.js';

/** Longest name accepted: well under NAME_MAX (255 bytes) with room for ".new" and a suffix. */
export const MAX_NAME_BYTES = 200;

/**
 * The name itself when it is one plain file name; otherwise a bad-input error
 * naming `what` it was meant to be. Refused: empty, ".", "..", separators
 * (/ and \), NUL and every other control character, and overlong names.
 */
export function safeName(value: string, what = 'name'): string {
  const problem =
    value.length === 0
      ? 'is empty'
      : value === '.' || value === '..'
        ? 'is "." or ".."'
        : /[/\\]/.test(value)
          ? 'holds a path separator; give a plain name'
          : // eslint-disable-next-line no-control-regex
            /[\x00-\x1f\x7f-\x9f]/.test(value)
            ? 'holds a control character'
            : Buffer.byteLength(value) > MAX_NAME_BYTES
              ? `is longer than ${MAX_NAME_BYTES} bytes`
              : undefined;
  if (problem) throw badInput('bad-name', `${what} ${JSON.stringify(value).slice(0, 80)} ${problem}`);
  return value;
}

/** `dir/name`, with name checked by `safeName` first: always directly inside `dir`. */
export function fileIn(dir: string, name: string, what = 'file name'): string {
  return join(dir, safeName(name, what));
}
