// `firewall egress` and `firewall explain out` take what a person types:
// anything but strict|open, a host that is neither a name nor an address, or
// a port out of range is refused with exit 2 and changes nothing. A stored
// egress mode that is not one of the two fails its shape. And in strict mode
// a command that would connect elsewhere is refused at once, the policy named.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Store } from '../../store/db.js';
import { startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;

beforeAll(async () => {
  node = await startDaemon({ home: tempHome() });
});
afterAll(async () => {
  await node?.stop();
});

const mode = async () => JSON.parse((await node.platform(['--json', 'firewall', 'egress'])).stdout).mode;

describe('firewall egress and firewall explain out: bad input', () => {
  const refused: [string[], RegExp][] = [
    [['firewall', 'egress', 'closed'], /closed/],
    [['firewall', 'egress', 'strict', 'now'], /./],
    [['firewall', 'explain', 'out', 'bad host', '22'], /<host>: "bad host" is not a host name or an IPv4\/IPv6 address/],
    [['firewall', 'explain', 'out', 'a;flush ruleset', '22'], /is not a host name/],
    [['firewall', 'explain', 'out', `${'a'.repeat(64)}.example`, '22'], /is not a host name/],
    [['firewall', 'explain', 'out', 'x'.repeat(300), '22'], /is not a host name/],
    [['firewall', 'explain', 'out', '10.0.0.1/24', '22'], /is not a host name/],
    [['firewall', 'explain', 'out', 'backup.example.net', '0'], /not a port 1-65535/],
    [['firewall', 'explain', 'out', 'backup.example.net', '65536'], /not a port 1-65535/],
    [['firewall', 'explain', 'out', 'backup.example.net', '22/icmp'], /not a port 1-65535/],
    [['firewall', 'explain', 'out', 'backup.example.net'], /./],
  ];
  for (const [words, message] of refused) {
    it(`refuses "${words.join(' ').slice(0, 60)}" with exit 2 and leaves the mode open`, async () => {
      const result = await node.platform(words);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.length).toBeLessThan(2000);
      expect(await mode()).toBe('open');
    });
  }

  it('refuses a stored egress mode that is not open or strict', () => {
    const store = Store.open(join(tempHome(), 'config.db'));
    try {
      expect(() => store.settings.set('firewall.egress', 'closed' as 'open')).toThrow();
      expect(store.settings.get('firewall.egress')).toBe('open');
    } finally {
      store.close();
    }
  });
});

describe('strict egress as a person meets it', () => {
  it('explains a configured destination as allowed and anything else as dropped, and refuses a connection at once', async () => {
    expect((await node.platform(['backup', 'add', 'offsite', 'sftp://backup@10.253.9.9:2222/srv'])).status).toBe(0);
    expect((await node.platform(['firewall', 'egress', 'strict'])).status).toBe(0);
    expect(await mode()).toBe('strict');
    const listed = JSON.parse((await node.platform(['--json', 'firewall', 'egress'])).stdout);
    expect(listed.destinations).toContainEqual({ host: '10.253.9.9', port: 2222, protocol: 'tcp', addresses: ['10.253.9.9'], why: 'backup location "offsite"' });
    const allowed = JSON.parse((await node.platform(['--json', 'firewall', 'explain', 'out', '10.253.9.9', '2222'])).stdout);
    expect(allowed).toMatchObject({ allowed: true, reason: 'allowed: backup location "offsite"' });
    const dropped = JSON.parse((await node.platform(['--json', 'firewall', 'explain', 'out', '192.0.2.7', '22'])).stdout);
    expect(dropped).toMatchObject({ allowed: false, reason: expect.stringContaining('dropped by the egress policy (firewall egress strict)') });
    const tried = await node.platform(['diag', 'uri', 'sftp://u@192.0.2.7/x', 'test']);
    expect(tried.stdout + tried.stderr).toContain("refused by this node's egress policy (firewall egress strict): 192.0.2.7:22 is not a configured destination; see firewall egress");
    // The location deleted: no longer a destination.
    expect((await node.platform(['backup', 'del', 'offsite'])).status).toBe(0);
    const gone = JSON.parse((await node.platform(['--json', 'firewall', 'explain', 'out', '10.253.9.9', '2222'])).stdout);
    expect(gone.allowed).toBe(false);
    expect((await node.platform(['firewall', 'egress', 'open'])).status).toBe(0);
  });
});
