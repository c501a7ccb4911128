// Network settings: stored, and on an appliance written to the operating
// system's own files (here under a root of the test's own).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';

const root = tempHome('ps-osroot-');
let appliance: RunningDaemon;
let embedded: RunningDaemon;

beforeAll(async () => {
  appliance = await startDaemon({ args: ['--appliance'], env: withoutCI({ PLATFORM_OS_ROOT: root }) });
  embedded = await startDaemon({ env: withoutCI({ PLATFORM_OS_ROOT: root }) });
});
afterAll(async () => {
  await appliance?.stop();
  await embedded?.stop();
});

describe('network settings', () => {
  it('writes hostname, resolvers and NTP servers to the OS files on an appliance', async () => {
    expect((await appliance.platform(['system', 'setup', '--hostname', 'first01', '--role', 'unified'])).status).toBe(0);
    expect(readFileSync(join(root, 'etc', 'hostname'), 'utf8')).toBe('first01\n');
    expect((await appliance.platform(['network', 'hostname', 'as01'])).stdout).toContain('/etc/hostname');
    await appliance.platform(['network', 'domain', 'example.test']);
    await appliance.platform(['network', 'dns', 'add', '10.250.40.53']);
    await appliance.platform(['network', 'ntp', 'add', 'ntp.example.test']);
    expect(readFileSync(join(root, 'etc', 'hostname'), 'utf8')).toBe('as01\n');
    // The node's own name resolves without DNS, under its new name only.
    const hosts = readFileSync(join(root, 'etc', 'hosts'), 'utf8');
    expect(hosts).toMatch(/^127\.0\.1\.1\tas01\.example\.test\tas01$/m);
    expect(hosts).toMatch(/^127\.0\.0\.1\tlocalhost$/m);
    expect(hosts).not.toContain('first01');
    expect(readFileSync(join(root, 'etc', 'resolv.conf'), 'utf8')).toContain('search example.test\nnameserver 10.250.40.53\n');
    expect(readFileSync(join(root, 'etc', 'chrony', 'sources.d', 'platform.sources'), 'utf8')).toContain('server ntp.example.test iburst');
    expect(existsSync(join(root, 'etc', 'hostname.platform-new'))).toBe(false);
    await appliance.platform(['network', 'dns', 'del', '10.250.40.53']);
    expect(readFileSync(join(root, 'etc', 'resolv.conf'), 'utf8')).not.toContain('nameserver');
  });

  it('only stores them in the embedded default, and says so', async () => {
    const result = await embedded.platform(['network', 'hostname', 'embedded01']);
    expect(result.stdout).toContain('embedded default: the operating system is not changed');
    expect(readFileSync(join(root, 'etc', 'hostname'), 'utf8')).toBe('as01\n');
    expect((await embedded.platform(['network', 'hostname'])).stdout).toContain('hostname: embedded01');
  });

  it('refuses bad values before anything is written', async () => {
    expect((await appliance.platform(['network', 'dns', 'add', 'not-an-ip'])).status).toBe(2);
    expect((await appliance.platform(['network', 'hostname', 'bad_name!'])).status).toBe(2);
    expect((await appliance.platform(['network', 'ntp', 'del', 'never.added'])).stderr).toContain('is not listed');
    expect(readFileSync(join(root, 'etc', 'hostname'), 'utf8')).toBe('as01\n');
  });
});
