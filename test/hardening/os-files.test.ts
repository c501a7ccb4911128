// The system files platformd writes as root on an appliance (/etc/hostname,
// /etc/hosts, /etc/resolv.conf, chrony's sources) take their values from the
// store. The commands check those values, but a restored store or an older
// version's row reaches the writer too: it checks each value again, and a
// value that would add a line (or is no name or address at all) writes
// nothing, to any of the files.

import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeOsFiles } from '../../net/os-config.js';
import type { NodeSettings } from '../../store/settings.js';
import { tempHome } from '../support/daemon.js';

const good: NodeSettings = { hostname: 'node01', domain: 'example.net', roles: ['unified'], ntp: ['ntp.example.net', '192.0.2.10'], dns: ['10.0.2.3', '2001:db8::53'], dataCentre: 'dc1', maintenance: false };

const hostile: [string, Partial<NodeSettings>][] = [
  ['a host name with a newline and a fake hosts line', { hostname: 'node01\n203.0.113.9 bank.example' }],
  ['a domain with a tab', { domain: 'example.net\tevil' }],
  ['an NTP server with a directive after a newline', { ntp: ['ntp.example.net\nallow all'] }],
  ['a resolver that is a name, not an address', { dns: ['ns1.example.net'] }],
  ['a resolver with options after a newline', { dns: ['10.0.2.3\noptions ndots:15'] }],
  ['a host name of 300 characters', { hostname: 'a'.repeat(300) }],
];

describe('the system files', () => {
  it('are written from good values, the node’s own name on 127.0.1.1', () => {
    const root = tempHome('ps-osfiles-');
    writeOsFiles(good, root);
    expect(readFileSync(join(root, 'etc', 'hosts'), 'utf8')).toContain('127.0.1.1\tnode01.example.net\tnode01\n');
    expect(readFileSync(join(root, 'etc', 'resolv.conf'), 'utf8')).toContain('nameserver 2001:db8::53\n');
  });

  for (const [what, change] of hostile) {
    it(`refuse ${what}, and none of them is written`, () => {
      const root = tempHome('ps-osfiles-');
      expect(() => writeOsFiles({ ...good, ...change }, root)).toThrow(/not written to the system files/);
      for (const file of ['hostname', 'hosts', 'resolv.conf', 'chrony/sources.d/platform.sources']) expect(existsSync(join(root, 'etc', file)), file).toBe(false);
    });
  }
});
