// Where a console without --home looks for its node, and what it says when
// platformd does not answer: in a checkout, how to start it; on an
// appliance, what systemd says platformd is doing.

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { APPLIANCE_HOME, checkoutRoot, pathsFor, resolveHome } from '../../core/paths.js';
import { describeUnit, parseUnitState, unreachableMessage } from '../../shell/unreachable.js';
import { PLATFORM, ROOT, runPlatform, withoutCI } from '../support/daemon.js';
import { execFile } from 'node:child_process';

describe('the home a console uses', () => {
  it('is the checkout\'s .platform when run from a checkout, as npm start uses', () => {
    expect(checkoutRoot(PLATFORM)).toBe(ROOT);
    expect(checkoutRoot(join(ROOT, 'dist', 'platform.js'))).toBe(ROOT);
    const saved = process.env.PLATFORM_HOME;
    delete process.env.PLATFORM_HOME;
    try {
      expect(resolveHome(undefined, ROOT)).toBe(join(ROOT, '.platform'));
      expect(resolveHome(undefined, undefined)).toBe(APPLIANCE_HOME);
      expect(resolveHome('/srv/node', ROOT)).toBe('/srv/node');
    } finally {
      if (saved !== undefined) process.env.PLATFORM_HOME = saved;
    }
  });

  it('an installed product (no scripts/ beside bin/) is not a checkout', () => {
    expect(checkoutRoot('/usr/local/bin/platform')).toBeUndefined();
    expect(checkoutRoot(undefined)).toBeUndefined();
  });

  it('one-shot `platform` without --home in a checkout looks in the checkout', async () => {
    const env = withoutCI();
    delete env.PLATFORM_HOME;
    const result = await new Promise<{ status: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [PLATFORM, 'system', 'info'], { env, cwd: '/' }, (error, _stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stderr }));
    });
    // Either the checkout's own node answered, or the message names its socket.
    if (result.status !== 0) expect(result.stderr).toContain(`${join(ROOT, '.platform', 'run', 'platformd.sock')}`);
    expect(result.stderr).not.toContain(APPLIANCE_HOME);
  });
});

describe('when platformd does not answer', () => {
  const socket = '/opt/platform/run/platformd.sock';
  const show = (lines: string[]) => parseUnitState(lines.join('\n') + '\n');

  it('on an appliance just after boot: the node is starting, and since when', () => {
    const unit = show(['LoadState=loaded', 'ActiveState=activating', 'SubState=start', 'ActiveEnterTimestamp=', 'InactiveExitTimestamp=Wed 2026-12-02 05:01:07 UTC']);
    const message = describeUnit(unit, socket)!;
    expect(message).toContain('the node is starting');
    expect(message).toContain('since Wed 2026-12-02 05:01:07 UTC');
    expect(message).not.toContain('platformd --home');
  });

  it.each([
    ['active', 'ActiveEnterTimestamp=Wed 2026-12-02 05:01:30 UTC', 'running since Wed 2026-12-02 05:01:30 UTC but does not answer'],
    ['failed', 'InactiveEnterTimestamp=Wed 2026-12-02 05:02:00 UTC', 'failed since Wed 2026-12-02 05:02:00 UTC'],
    ['inactive', 'InactiveEnterTimestamp=Wed 2026-12-02 05:03:00 UTC', 'systemctl start platformd'],
    ['deactivating', '', 'stopping'],
  ])('an appliance whose platformd is %s says so', (state, extra, said) => {
    expect(describeUnit(show(['LoadState=loaded', `ActiveState=${state}`, extra]), socket)).toContain(said);
  });

  it('without the unit (no systemd, or not installed) it says nothing of systemd', () => {
    expect(describeUnit(show(['LoadState=not-found', 'ActiveState=inactive']), socket)).toBeUndefined();
    expect(describeUnit(show([]), socket)).toBeUndefined();
  });

  it('in a checkout: the plain message, with how to start it', () => {
    const paths = pathsFor('/tmp/node-x');
    expect(unreachableMessage(paths, 'platformd is not running (no socket at /tmp/node-x/run/platformd.sock)', true)).toBe(
      'platformd is not running (no socket at /tmp/node-x/run/platformd.sock).\nStart it with: platformd --home /tmp/node-x',
    );
  });

  it('a one-shot command in a checkout says how to start it, exit 3', async () => {
    const result = await runPlatform('/nonexistent/ps-home', ['system', 'info']);
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('Start it with: platformd --home /nonexistent/ps-home');
  });
});
