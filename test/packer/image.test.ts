// The image definition: Packer accepts the template, it is formatted, and
// systemd accepts the units (with their programs pointed at stand-ins, since
// this machine is not an appliance). The repository names no download host:
// the ISO's URL and the installer's mirror are variables without defaults,
// and the mirror comes from this machine's apt sources (packer/mirror.sh).

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempHome } from '../support/daemon.js';

const units = join(ROOT, 'packer', 'systemd');
/** What the ISO source needs and the repository does not say: set by the installer. */
const ISO_SOURCE = ['-var', 'iso_url=http://mirror.example.test/netinst.iso', '-var', 'mirror_host=mirror.example.test', '-var', 'mirror_directory=/debian'];

describe('packer template', () => {
  it('is formatted and valid', () => {
    expect(spawnSync('packer', ['fmt', '-check', 'packer/platform.pkr.hcl'], { cwd: ROOT }).status).toBe(0);
    const dir = tempHome('ps-packer-');
    writeFileSync(join(dir, 'product.tgz'), '');
    writeFileSync(join(dir, 'base.qcow2'), '');
    const result = spawnSync(
      'packer',
      ['validate', '-var', `node_binary=${process.execPath}`, '-var', `product_tarball=${join(dir, 'product.tgz')}`, '-var', `base_disk=${join(dir, 'base.qcow2')}`, '-var', `iso_checksum=sha256:${'0'.repeat(64)}`, ...ISO_SOURCE, 'packer/platform.pkr.hcl'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(result.stdout + result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
  });

  it('refuses to build from an unchecked ISO', () => {
    const result = spawnSync('packer', ['validate', '-var', `node_binary=${process.execPath}`, '-var', 'product_tarball=/dev/null', '-var', 'base_disk=/dev/null', ...ISO_SOURCE, 'packer/platform.pkr.hcl'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('A checksum must be specified');
  });

  it('names no ISO or mirror host of its own: the installer gives them', () => {
    const result = spawnSync('packer', ['validate', '-var', `node_binary=${process.execPath}`, '-var', 'product_tarball=/dev/null', '-var', 'base_disk=/dev/null', 'packer/platform.pkr.hcl'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    for (const name of ['iso_url', 'mirror_host', 'mirror_directory']) expect(result.stdout + result.stderr).toContain(`Unset variable "${name}"`);
    // The preseed leaves the mirror to the boot command, which passes the variables.
    expect(readFileSync(join(ROOT, 'packer', 'http', 'preseed.cfg'), 'utf8')).not.toMatch(/mirror\/http\/(hostname|directory)/);
    expect(readFileSync(join(ROOT, 'packer', 'platform.pkr.hcl'), 'utf8')).toContain('mirror/http/hostname=${var.mirror_host} mirror/http/directory=${var.mirror_directory}');
  });

  it('takes the mirror from MIRROR or this machine\'s apt sources, and stops plainly without either', () => {
    const vars = spawnSync('bash', ['packer/mirror.sh'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MIRROR: 'http://10.0.0.7:3142/debian/' } });
    expect(vars.status).toBe(0);
    expect(vars.stdout).toBe('mirror_host      = "10.0.0.7:3142"\nmirror_directory = "/debian"\n');
    const hostile = spawnSync('bash', ['packer/mirror.sh'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MIRROR: 'http://x.example.test/"; d-i x' } });
    expect(hostile.status).toBe(2);
    expect(hostile.stdout).toBe('');
    // A machine whose apt sources name no mirror (the sources read as empty), MIRROR unset.
    const root = join(tempHome('ps-bare-root-'), 'root');
    const none = spawnSync('bash', ['-c', `. packer/bare-root.sh; configured_mirror() { :; }; MIRROR=; make_bare_root ${root}`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MIRROR: '', ROOTFS_CACHE: '' } });
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/no Debian mirror: .* give one with MIRROR=http:\/\/<mirror>\/debian/);
    expect(existsSync(root)).toBe(false);
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
    expect(copies.length).toBe(5); // firewall loader, platformd, first boot's network and the rest of first boot, the SNMP agent
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
