// The console's history: the lines a person typed, kept per user in the
// node's home and given back by Up/Down and Ctrl-R. A line is kept, echoed
// and recalled with every secret hidden: arguments whose type is secret (the
// command tree knows them), and anything that looks like a password in words
// that do not parse, as the audit log hides them (net/uri.ts redactSecrets).

import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { joinWords, redactWords, splitWords, type TreeNode } from '../../commands/tree.js';
import { redactSecrets } from '../../net/uri.js';

/** A line as the history keeps it. */
export type Redactor = (line: string) => string;

const hideUnparsed = (word: string) => redactSecrets(word, { word: true });

/** Hides what the command tree says is secret, and what looks secret elsewhere; a line with nothing to hide stays as typed. */
export function historyRedactor(root: TreeNode): Redactor {
  return (line) => {
    let words: string[];
    try {
      words = splitWords(line);
    } catch {
      return redactSecrets(line); // an unclosed quote: no words to go by
    }
    const hidden = redactWords(root, words, hideUnparsed);
    if (hidden.every((w, i) => w === words[i])) return line;
    // The spaces around the words stay (an echoed line being edited keeps its last space).
    return `${/^\s*/.exec(line)![0]}${joinWords(hidden)}${/\s*$/.exec(line)![0]}`;
  };
}

/** The lines kept, oldest first, each through `redact`; a file that held secrets (written by an older console) is rewritten without them. */
export function readHistory(file: string, redact: Redactor): string[] {
  let kept: string[];
  try {
    kept = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
  const lines = kept.map(redact);
  if (lines.some((line, i) => line !== kept[i])) {
    try {
      writeFileSync(`${file}.new`, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
      renameSync(`${file}.new`, file);
    } catch {
      // A read-only home: the lines shown are redacted all the same.
    }
  }
  return lines.slice(-1000);
}

/** Appends a (redacted) line; history is a convenience, never an error. */
export function appendHistory(dir: string, file: string, line: string): void {
  try {
    // Only inside an existing home: a console without its daemon must not create one.
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return;
  }
  try {
    appendFileSync(file, `${line}\n`, { mode: 0o600 });
  } catch {
    // A read-only or missing home must not break the console.
  }
}
