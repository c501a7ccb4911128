// Times, offsets, uptimes and sizes as the appliance prints them.

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:MM:SS` in the given offset from UTC. */
export function formatTime(time: Date, offsetMinutes: number): string {
  const t = new Date(time.getTime() + offsetMinutes * 60_000);
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `6 days, 3:03` or `2:05`, as `uptime` prints it. */
export function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const clock = `${hours}:${pad(minutes)}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
}

/** `20Gb`, `512Mb`, as the appliance prints database sizes. */
export function formatSize(bytes: number): string {
  const units = ['b', 'Kb', 'Mb', 'Gb', 'Tb'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value >= 10 || unit === 0 ? Math.round(value).toString() : value.toFixed(1);
  return `${shown}${units[unit]}`;
}
