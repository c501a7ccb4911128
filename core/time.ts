// Times as people read them: one form wherever text is shown (the banner,
// tables, trees, messages), the seed's banner format with its zone, always
// UTC: `2026-12-02 03:00:30 UTC`. `--json` keeps ISO 8601, and so do log files.

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:MM:SS UTC`; a text that is not a time is shown as it is. */
export function formatTime(time: Date | string): string {
  const t = typeof time === 'string' ? new Date(time) : time;
  if (Number.isNaN(t.getTime())) return String(time);
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} UTC`;
}
