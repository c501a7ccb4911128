// What the console says when platformd does not answer. On an appliance
// systemd runs platformd: in the half minute after a boot it is starting,
// and telling a person to start it by hand would be wrong, so the unit's
// state says what is going on. In a checkout (or without systemd) the
// person starts it, and is told how.

import { execFileSync } from 'node:child_process';
import { checkoutRoot, type Paths } from '../core/paths.js';

export const UNIT = 'platformd';
const PROPERTIES = ['LoadState', 'ActiveState', 'SubState', 'ActiveEnterTimestamp', 'InactiveExitTimestamp', 'InactiveEnterTimestamp'] as const;
type UnitState = Partial<Record<(typeof PROPERTIES)[number], string>>;

/** `systemctl show`'s `Key=value` lines; an empty value counts as absent. */
export function parseUnitState(text: string): UnitState {
  const state: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    if (eq > 0 && (PROPERTIES as readonly string[]).includes(key) && line.slice(eq + 1).trim()) state[key] = line.slice(eq + 1).trim();
  }
  return state;
}

/** The message for a person: what the unit is doing and since when; undefined when systemd does not run platformd here. */
export function describeUnit(unit: UnitState, socket: string): string | undefined {
  if (unit.LoadState !== 'loaded') return undefined;
  const since = (time: string | undefined) => (time ? ` since ${time}` : '');
  switch (unit.ActiveState) {
    case 'activating':
    case 'reloading':
      return `the node is starting: platformd has been starting${since(unit.InactiveExitTimestamp)} and answers once it is ready (usually within a minute of boot); try again shortly`;
    case 'active':
      return `platformd is running${since(unit.ActiveEnterTimestamp)} but does not answer at ${socket}; try again shortly, or see: journalctl -u ${UNIT}`;
    case 'deactivating':
      return `the node's platformd is stopping${since(unit.InactiveEnterTimestamp)}; systemd starts it again when the node comes back`;
    case 'failed':
      return `platformd failed${since(unit.InactiveEnterTimestamp)}; see: journalctl -u ${UNIT} (an administrator can run: systemctl restart ${UNIT})`;
    case 'inactive':
      return `platformd is stopped${since(unit.InactiveEnterTimestamp)}; an administrator can start it with: systemctl start ${UNIT}`;
    default:
      return undefined;
  }
}

/** platformd's unit as systemd sees it, or undefined (no systemd, no unit, no answer within a second). */
function unitState(): UnitState | undefined {
  try {
    const text = execFileSync('systemctl', ['show', UNIT, '-p', PROPERTIES.join(',')], { encoding: 'utf8', timeout: 1000, stdio: ['ignore', 'pipe', 'ignore'] });
    return parseUnitState(text);
  } catch {
    return undefined;
  }
}

/** `message` is the client's (platformd is not running ...); the answer says what to do. */
export function unreachableMessage(paths: Paths, message: string, inCheckout = checkoutRoot() !== undefined): string {
  const unit = inCheckout ? undefined : unitState();
  return (unit && describeUnit(unit, paths.socket)) ?? `${message}.\nStart it with: platformd --home ${paths.home}`;
}
