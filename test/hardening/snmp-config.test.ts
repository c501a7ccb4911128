// What becomes a line of snmpd.conf is checked against a strict grammar:
// community and user names, sources, location and contact texts and v3
// passwords that would add a line of their own (newlines, quotes,
// backslashes) are refused; from a store edited by hand or restored they
// are left out of the file, the rest still written; and a real snmpd reads
// what is generated without complaint.

import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkConfig } from '../../snmp/agent.js';
import { checkName, checkPassword, checkSource, checkText, renderSnmpdConf, SnmpInputError } from '../../snmp/config.js';
import { tempHome } from '../support/daemon.js';

const HOSTILE = ['pub\nrwcommunity evil', 'pub\rx', 'pub lic', 'pub"', 'pub\\', '', 'x'.repeat(33), '-pub', 'pub;rm', 'pub\u0000'];
const options = { agentAddress: 'udp:161', sysName: 'as01' };

describe('snmpd.conf hardening', () => {
  it('refuses community and user names that are not plain words', () => {
    for (const name of HOSTILE) {
      expect(() => checkName('community', name), JSON.stringify(name)).toThrow(SnmpInputError);
      expect(() => checkName('user', name), JSON.stringify(name)).toThrow(SnmpInputError);
    }
    expect(checkName('community', 'public-7.a_b')).toBe('public-7.a_b');
  });

  it('refuses sources that are not an address or a network', () => {
    for (const source of ['10.0.0.0/33', '10.0.0.1 \nrocommunity x', 'example.com', '10.0.0.0/8/1', '::1/129', '']) expect(() => checkSource(source), source).toThrow(SnmpInputError);
    expect(checkSource('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(checkSource('2001:DB8::/32')).toBe('2001:db8::/32');
  });

  it('refuses location, contact and passwords that would break out of their line', () => {
    for (const text of ['Rack 7\nrwcommunity evil', 'a"b', 'a\\b', '', 'x'.repeat(256), 'tab\there']) expect(() => checkText('location', text), JSON.stringify(text)).toThrow(SnmpInputError);
    for (const password of ['short', 'has space1', 'quote"quote', 'back\\slash', 'new\nline12', 'x'.repeat(65)]) expect(() => checkPassword('auth password', password), JSON.stringify(password)).toThrow(SnmpInputError);
  });

  it('re-checks what comes from the store: a hand-edited hostile value is left out, the rest is written', () => {
    const hostile = renderSnmpdConf(
      {
        communities: [{ name: 'pub\nrwcommunity evil' }, { name: 'good1' }, { name: 'wide', source: '10.0.0.0/8 \nrwcommunity evil' }],
        users: [
          { name: 'bob', auth: 'SHA', priv: 'AES' },
          { name: 'eve', auth: 'SHA\nrwuser eve' as never, priv: 'none' },
          { name: 'ann', auth: 'SHA', priv: 'none' },
        ],
        location: 'x\nrwcommunity evil',
        contact: 'noc@example.test',
      },
      { bob: { authPassword: 'Secret-auth1', privPassword: 'x"\nrwuser bob' }, eve: { authPassword: 'Secret-auth2' }, ann: { authPassword: 'Secret-auth3' } },
      { ...options, sysName: 'as01"\nrwcommunity evil' },
    );
    expect(hostile.text).not.toMatch(/rw(community|user)|evil/);
    expect(hostile.text).not.toMatch(/sysName|sysLocation|rocommunity6? wide|createUser (bob|eve)/);
    // A community whose source is bad is left out whole, never widened to "default".
    expect(hostile.text).toContain('rocommunity good1 default\n');
    expect(hostile.text).toContain('sysContact noc@example.test\n');
    expect(hostile.text).toMatch(/^createUser ann SHA "Secret-auth3"$/m);
    expect(hostile.skipped.map((s) => s.what)).toEqual(['sysName', 'location', 'community', 'community', 'v3 user', 'v3 user']);
    // What is reported is one printable line, and never a password.
    for (const s of hostile.skipped) expect(`${s.value} ${s.why}`).not.toMatch(/[\x00-\x1f]|Secret|rwuser bob/);
  });

  it('generates read-only access only, one line per setting, and a real snmpd reads it without complaint', async () => {
    const { text, skipped } = renderSnmpdConf(
      { communities: [{ name: 'public7' }, { name: 'ops', source: '10.1.0.0/16' }, { name: 'ops6', source: 'fd00::/8' }], users: [{ name: 'bob', auth: 'SHA-256', priv: 'AES' }, { name: 'eve', auth: 'MD5', priv: 'none' }], location: 'Rack 7', contact: 'noc@example.test' },
      { bob: { authPassword: 'Secret-auth1', privPassword: 'Secret-priv1' }, eve: { authPassword: 'Secret-auth2' } },
      options,
    );
    const directives = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ')[0]);
    expect(directives).toEqual(['agentAddress', 'sysName', 'sysLocation', 'sysContact', 'sysServices', 'rocommunity', 'rocommunity6', 'rocommunity', 'rocommunity6', 'createUser', 'rouser', 'createUser', 'rouser']);
    expect(text).not.toMatch(/rw(community|user)/);
    expect(skipped).toEqual([]);
    const dir = tempHome('ps-snmpconf-');
    mkdirSync(dir, { recursive: true });
    const onSocket = (t: string, sock: string) => t.replace(/^agentAddress .*$/m, `agentAddress unix:${sock}`);
    writeFileSync(join(dir, 'good.conf'), onSocket(text, join(dir, 'check.sock')));
    await checkConfig(join(dir, 'good.conf'), join(dir, 'check.sock'));
    // The check is real: a line snmpd does not know is refused.
    writeFileSync(join(dir, 'bad.conf'), onSocket(text, join(dir, 'check2.sock')) + 'rocommunity pub 10.0.0.0/33\n');
    await expect(checkConfig(join(dir, 'bad.conf'), join(dir, 'check2.sock'))).rejects.toThrow(/refused the configuration/);
  });
});
