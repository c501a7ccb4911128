import { describe, expect, it } from 'vitest';
import { compile, DEFAULT_LIMITS, explain, FirewallInputError, parseNetwork, peerUpdateScript, policyOf, type FirewallInput } from '../../firewall/compiler.js';

const base: FirewallInput = {
  roles: ['webproxy'],
  listening: new Set(['80/tcp', '443/tcp', '8443/tcp', '161/udp', '162/udp']),
  peers: [
    { address: '10.250.1.2', roles: ['application'] },
    { address: 'fd00:250:1::2', roles: ['application'] },
  ],
  management: [],
  limits: DEFAULT_LIMITS,
};

describe('the compiler', () => {
  it('opens running services only, cluster ports only from the peer sets, and drops the rest', () => {
    const text = compile(base);
    expect(text).toContain('type filter hook input priority filter; policy drop;');
    expect(text).toContain('type filter hook forward priority filter; policy drop;');
    expect(text).toContain('ip saddr @peers_cluster_v4 tcp dport 8443 accept');
    expect(text).toContain('elements = { 10.250.1.2 }');
    expect(text).toContain('elements = { fd00:250:1:0:0:0:0:2 }');
    expect(text).toMatch(/tcp dport \{ 80, 443 \} ct state new update @flood_public_v4/);
    const stopped = compile({ ...base, listening: new Set(['8443/tcp']) });
    expect(stopped).not.toMatch(/dport[^\n]*\b443\b/);
    expect(stopped).toContain('tcp dport 22 accept'); // SSH stays open whatever runs
  });

  it('limits SSH to the management sources when there are some', () => {
    const text = compile({ ...base, management: ['192.0.2.0/24'] });
    expect(text).toContain('ip saddr @management_v4 tcp dport 22 accept');
    expect(text).not.toContain('    tcp dport 22 accept');
  });

  it('refuses malicious or malformed values before they reach nft', () => {
    const bad = ['10.0.0.1; flush ruleset', '10.0.0.1 }', '10.0.0.1\nadd rule', '::1/129', '10.0.0.1/33', 'host.example', '', '1.2.3.4/24/1'];
    for (const value of bad) {
      expect(() => compile({ ...base, peers: [{ address: value, roles: ['application'] }] }), value).toThrow(FirewallInputError);
      expect(() => compile({ ...base, management: [value] }), value).toThrow(FirewallInputError);
    }
    expect(() => compile({ ...base, limits: { ...DEFAULT_LIMITS, publicPerSecond: 0 } })).toThrow(/publicPerSecond/);
    expect(() => compile({ ...base, limits: { ...DEFAULT_LIMITS, publicBurst: 1.5 } })).toThrow(/publicBurst/);
  });

  it('prints addresses in canonical form only', () => {
    expect(() => parseNetwork('010.001.002.003')).toThrow(FirewallInputError); // octal-looking: ambiguous, refused
    expect(parseNetwork('FD00::1/64').text).toBe('fd00:0:0:0:0:0:0:1/64');
    expect(parseNetwork('::ffff:10.0.0.1').text).toBe('0:0:0:0:0:ffff:a00:1');
  });

  it('updates peers as set elements, without touching any rule', () => {
    const policy = policyOf({ ...base, roles: ['database'], peers: [{ address: '10.250.1.9', roles: ['application'] }, { address: 'fd00::9', roles: ['webproxy'] }] });
    expect(peerUpdateScript(policy)).toBe(
      [
        'flush set inet platform peers_cluster_v4',
        'add element inet platform peers_cluster_v4 { 10.250.1.9 }',
        'flush set inet platform peers_cluster_v6',
        'flush set inet platform peers_database_v4',
        'add element inet platform peers_database_v4 { 10.250.1.9 }',
        'flush set inet platform peers_database_v6',
        '',
      ].join('\n'),
    );
  });

  it("lets each member reach only the cluster services the seed's flows give its roles", () => {
    const peers = [
      { address: '10.0.0.1', roles: ['webproxy'] as const },
      { address: '10.0.0.2', roles: ['application'] as const },
      { address: '10.0.0.3', roles: ['database'] as const },
      { address: '10.0.0.4', roles: ['webproxy'] as const, primary: true },
    ].map((p) => ({ ...p, roles: [...p.roles] }));
    const database = policyOf({ ...base, roles: ['database'], peers });
    expect(database.peers.database!.map((n) => n.text)).toEqual(['10.0.0.2', '10.0.0.3']);
    // Proxies have no flow to database nodes; the primary reaches every agent all the same.
    expect(database.peers.cluster!.map((n) => n.text)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    const proxy = policyOf({ ...base, roles: ['webproxy'], peers });
    expect(proxy.peers.cluster!.map((n) => n.text)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.4']);
    expect(proxy.peers.database).toEqual([]);
  });
});

describe('explain', () => {
  const policy = policyOf({ ...base, roles: ['unified'], listening: new Set(['443/tcp', '27017/tcp']) });
  it('names the catalog entry or the missing service that decides', () => {
    expect(explain(policy, '10.250.1.2', 27017, 'tcp')).toMatchObject({ allowed: true, service: 'database' });
    expect(explain(policy, '10.250.1.3', 27017, 'tcp').reason).toContain('cluster-scoped and 10.250.1.3 is not a cluster member with a flow to it');
    expect(explain(policy, '10.250.1.3', 8443, 'tcp').reason).toContain('service cluster is not listening on 8443/tcp');
    expect(explain(policy, '10.250.1.2', 27020, 'tcp').reason).toContain('service database is not listening on 27020/tcp');
    expect(explain(policy, '10.250.1.3', 443, 'tcp')).toMatchObject({ allowed: true, service: 'https' });
    expect(explain(policy, '10.250.1.3', 5432, 'tcp').reason).toContain('default deny');
    expect(explain(policyOf({ ...base, management: ['10.9.0.0/16'] }), '10.9.3.4', 22, 'tcp').allowed).toBe(true);
    expect(explain(policyOf({ ...base, management: ['10.9.0.0/16'] }), '10.8.3.4', 22, 'tcp').allowed).toBe(false);
  });
});
