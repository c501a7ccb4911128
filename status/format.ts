// Uptimes and sizes as the appliance prints them (times: core/time.ts).

const pad = (n: number) => String(n).padStart(2, '0');

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
