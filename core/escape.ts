// Terminal safety: text that came from someone else (a word typed by another
// user, a certificate's subject, a file name) must never drive the terminal
// it is shown on. Control characters are shown as visible escapes instead of
// being sent: an ESC cannot recolour or move the cursor, a newline inside a
// word cannot draw a fake row. One function, used by the renderers and by
// the audit writer.

/** C0 controls, DEL, C1 controls, and the Unicode bidirectional overrides that reorder what is shown. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

function visible(ch: string): string {
  const code = ch.codePointAt(0)!;
  return NAMED[ch] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`);
}

/**
 * Shows control characters as escapes (`\e`, `\n`, `\x07`, `\u{202e}`).
 * `lines: true` keeps newlines and tabs, for text that is made of lines (a text
 * block, an error message); a single value (a word, a table cell) keeps none.
 */
export function escapeControls(text: string, options: { lines?: boolean } = {}): string {
  return text.replace(options.lines ? CONTROL_BUT_LINES : CONTROL, visible);
}
