// The image definition: Packer accepts the template, it is formatted, and
// systemd accepts the units (with their programs pointed at stand-ins, since
// this machine is not an appliance).

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempHome } from '../support/daemon.js';

const units = join(ROOT, 'packer', 'systemd');

describe('packer template', () => {
  it('is formatted and valid', () => {
    expect(spawnSync('packer', ['fmt', '-check', 'packer/platform.pkr.hcl'], { cwd: ROOT }).status).toBe(0);
    const dir = tempHome('ps-packer-');
    writeFileSync(join(dir, 'product.tgz'), '');
    writeFileSync(join(dir, 'base.qcow2'), '');
    const result = spawnSync(
      'packer',
      ['validate', '-var', `node_binary=${process.execPath}`, '-var', `product_tarball=${join(dir, 'product.tgz')}`, '-var', `base_disk=${join(dir, 'base.qcow2')}`, '-var', `iso_checksum=sha256:${'0'.repeat(64)}`, 'packer/platform.pkr.hcl'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(result.stdout + result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
  });

  it('refuses to build from an unchecked ISO', () => {
    const result = spawnSync('packer', ['validate', '-var', `node_binary=${process.execPath}`, '-var', 'product_tarball=/dev/null', '-var', 'base_disk=/dev/null', 'packer/platform.pkr.hcl'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('A checksum must be specified');
  });
});

describe('systemd units', () => {
  it('pass systemd-analyze verify', () => {
    const dir = tempHome('ps-units-');
    const stub = join(dir, 'stub');
    writeFileSync(stub, '#!/bin/sh\n');
    chmodSync(stub, 0o755);
    const copies = readdirSync(units)
      .filter((f) => f.endsWith('.service'))
      .map((name) => {
        const text = readFileSync(join(units, name), 'utf8').replace(/\/usr\/local\/s?bin\/[a-z-]+|\/opt\/platform-shell\/current\/\.runtime\/node\/bin\/node/g, stub);
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      });
    expect(copies.length).toBe(4); // firewall loader, platformd, first boot, the SNMP agent
    const result = spawnSync('systemd-analyze', ['verify', ...copies], { encoding: 'utf8' });
    expect(result.stderr.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('bring the firewall up before the network and leave it at shutdown', () => {
    const firewall = readFileSync(join(units, 'platform-firewall.service'), 'utf8');
    expect(firewall).toMatch(/^Before=network-pre\.target$/m);
    expect(firewall).toMatch(/^Wants=network-pre\.target$/m);
    expect(firewall).toMatch(/^ExecStop=\/bin\/true$/m);
    const daemon = readFileSync(join(units, 'platformd.service'), 'utf8');
    expect(daemon).toMatch(/^After=platform-firewall\.service/m);
    expect(daemon).toContain('--firewall apply');
    expect(daemon).toMatch(/^Restart=on-failure$/m);
    expect(daemon).toContain('CAP_NET_ADMIN');
  });

  it('load the default ruleset when no last good one exists: default deny, SSH open', () => {
    const dir = tempHome('ps-boot-');
    const ns = `psimg${process.pid % 10000}`;
    const bin = join(dir, 'bin');
    execFileSync('mkdir', ['-p', bin]);
    // The load script calls /usr/local/bin/platformd; point it at this checkout.
    const script = readFileSync(join(units, 'platform-firewall-load'), 'utf8').replace('/usr/local/bin/platformd', `${process.execPath} ${join(ROOT, 'bin', 'platformd.js')}`);
    writeFileSync(join(bin, 'load'), script);
    chmodSync(join(bin, 'load'), 0o755);
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      execFileSync('ip', ['netns', 'exec', ns, join(bin, 'load')], { env: { ...process.env, PLATFORM_HOME: dir } });
      const ruleset = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'inet', 'platform', 'input'], { encoding: 'utf8' });
      expect(ruleset).toContain('policy drop');
      expect(ruleset).toContain('tcp dport 22 accept');
      expect(ruleset).not.toMatch(/dport \{?[^\n]*(443|8443|27017)/);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});
