// What strict egress lets out, from a real store's configuration: DNS over
// UDP and TCP, NTP, SNMP targets over UDP (never proxied), the backup
// locations and the relay direct or, with a proxy, the proxy alone (the
// bypass list still direct), cluster peers on the catalog's flows; and
// `network requirements` saying what strict mode does with each flow.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../store/db.js';
import { writeNode } from '../../store/node.js';
import { addBackupLocation, addNotifyTargets } from '../../net/locations.js';
import { parseUri } from '../../net/uri.js';
import { egressOf } from '../../net/connector.js';
import { requirements } from '../../net/requirements.js';
import { defaultPort, flowsBetween } from '../../catalog/derive.js';
import { tempHome } from '../support/daemon.js';

let store: Store;
beforeEach(() => {
  store = Store.open(join(tempHome(), 'config.db'));
  writeNode(store, { hostname: hostname(), roles: ['webproxy'], ntp: ['ntp.example.net'], dns: ['10.9.0.53'], dataCentre: 'dc1', maintenance: false });
  addBackupLocation(store, 'offsite', parseUri('sftp://u@backup.example.net/srv'));
  addBackupLocation(store, 'inside', parseUri('ftp://u@10.9.0.21:2121/srv'));
  addNotifyTargets(store, 'error', [parseUri('snmp://public@10.9.0.162'), parseUri('mailto:ops@example.net')]);
  store.settings.set('notify.emailrelay', 'relay.example.net:2525');
  store.inventory.replace([{ hostname: hostname(), address: '10.9.0.1', roles: ['webproxy'], dataCentre: 'dc1', primary: true }, { hostname: 'app1', address: '10.9.0.2', roles: ['application'], dataCentre: 'dc1', primary: false }], new Date().toISOString());
  store.settings.set('firewall.egress', 'strict');
});
afterEach(() => store.close());

const keys = () => egressOf(store).policy!.destinations.map((d) => `${d.host} ${d.port}/${d.protocol}`).sort();

describe('the configured destinations', () => {
  it('lists what the configuration needs, direct without a proxy', () => {
    const peerFlows = flowsBetween({ roles: ['webproxy'], primary: true }, { roles: ['application'] }).map((f) => `10.9.0.2 ${f.port}/${f.protocol}`);
    expect(peerFlows.length).toBeGreaterThan(0);
    expect(keys()).toEqual(
      [
        `10.9.0.53 ${defaultPort('dns')}/udp`,
        `10.9.0.53 ${defaultPort('dns')}/tcp`,
        `ntp.example.net ${defaultPort('ntp')}/udp`,
        `backup.example.net ${defaultPort('ssh')}/tcp`,
        '10.9.0.21 2121/tcp',
        `10.9.0.162 ${defaultPort('snmpTrap')}/udp`,
        'relay.example.net 2525/tcp',
        ...peerFlows,
      ].sort(),
    );
  });

  it('sends TCP to the proxy alone when one is set, except the bypass list; UDP stays direct', () => {
    store.settings.set('network.proxy', 'socks5://proxy.example.net');
    store.settings.set('network.proxyBypass', ['10.9.0.0/24']);
    const list = keys();
    expect(list).toContain(`proxy.example.net ${defaultPort('socks')}/tcp`);
    expect(list).not.toContain(`backup.example.net ${defaultPort('ssh')}/tcp`);
    expect(list).not.toContain('relay.example.net 2525/tcp');
    expect(list).toContain('10.9.0.21 2121/tcp'); // on the bypass list
    expect(list).toContain(`ntp.example.net ${defaultPort('ntp')}/udp`);
    expect(egressOf(store).policy!.destinations.find((d) => d.host === '10.9.0.21')!.why).toContain('bypass');
  });

  it('drops a removed location, and works out nothing in open mode', () => {
    store.locations.remove('offsite');
    expect(keys()).not.toContain(`backup.example.net ${defaultPort('ssh')}/tcp`);
    store.settings.set('firewall.egress', 'open');
    expect(egressOf(store).policy).toEqual({ mode: 'open', destinations: [] });
  });

  it('has network requirements say what strict egress does with each outbound flow', () => {
    const outbound = requirements(store, '10.9.0.1').filter((r) => r.direction === 'outbound');
    expect(outbound.find((r) => r.destination === 'backup.example.net')!.purpose).toMatch(/allowed by strict egress$/);
    const unconfigured = outbound.filter((r) => !r.source.includes('['));
    expect(unconfigured.length).toBeGreaterThan(0);
    expect(unconfigured.every((r) => r.purpose.endsWith('dropped by strict egress until configured'))).toBe(true);
  });
});
