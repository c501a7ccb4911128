// The catalog's promise (DESIGN.md, one catalog, many views): for every pair
// of nodes, the flows the firewall admits, the flows `cluster check` expects
// and the flows the network-requirements report lists are the same set.
// The firewall's side is read from the compiled nftables text itself, with a
// small evaluator of the rules the compiler prints, not from the catalog.

import { describe, expect, it } from 'vitest';
import { flowsBetween, servicesFor, type NodeEnd } from '../../catalog/derive.js';
import type { RoleName } from '../../catalog/roles.js';
import { expectedPorts } from '../../cluster/service.js';
import { compile, DEFAULT_LIMITS } from '../../firewall/compiler.js';
import { internalRequirements } from '../../net/requirements.js';

const FROM = '10.250.9.1';
const TO = '10.250.9.2';
/** Neither a member nor a management source. */
const STRANGER = '10.250.9.3';
/** Management ports are for this address only, so they do not count as flows between the nodes. */
const MANAGEMENT = '192.0.2.10';

/** Every role a node can have, and a node that has none yet (before `system setup`). */
const ROLE_SETS: RoleName[][] = [[], ['webproxy'], ['application'], ['database'], ['unified']];

const label = (roles: readonly RoleName[]) => (roles.length ? roles.join('+') : 'no role');

/** The ruleset of `to`, with everything of its roles running and `from` as its cluster peer. */
function rulesetOf(from: NodeEnd, to: NodeEnd): string {
  const listening = new Set(servicesFor(to.roles).flatMap((s) => s.ports.map((p) => `${p.port}/${p.protocol}`)));
  return compile({ roles: to.roles, listening, peers: [{ address: FROM, roles: from.roles, primary: from.primary }], management: [MANAGEMENT], limits: DEFAULT_LIMITS });
}

/**
 * The `port/protocol` keys an IPv4 source may open connections to, by the
 * text of the input chain: `ip saddr @set <proto> dport <ports> accept`
 * admits the set's elements, `<proto> dport <ports> accept` anyone; rate
 * limits and IPv6 rules do not change what a single IPv4 source may reach.
 */
function admittedBy(ruleset: string, source: string): Set<string> {
  const sets = new Map<string, Set<string>>();
  for (const match of ruleset.matchAll(/set (\w+) \{[^}]*?(?:elements = \{ ([^}]*) \})?\s*\}/g)) {
    sets.set(match[1]!, new Set(match[2] ? match[2].split(', ') : []));
  }
  const chain = /chain input \{([\s\S]*?)\n {2}\}/.exec(ruleset)![1]!;
  const admitted = new Set<string>();
  for (const line of chain.split('\n').map((l) => l.trim())) {
    const rule = /^(?:ip saddr @(\w+) )?(tcp|udp) dport (\d+|\{ [\d, ]+ \}) accept$/.exec(line);
    if (!rule) continue;
    const [, set, protocol, ports] = rule;
    if (set !== undefined) {
      const elements = sets.get(set);
      if (!elements) throw new Error(`the rule uses @${set}, which the table does not declare`);
      if (!elements.has(source)) continue;
    }
    for (const port of ports!.replace(/[{}\s]/g, '').split(',')) admitted.add(`${port}/${protocol}`);
  }
  return admitted;
}

const sorted = (keys: Iterable<string>) => [...keys].sort();

describe('one catalog, many views: every pair of nodes', () => {
  const pairs = ROLE_SETS.flatMap((fromRoles) => ROLE_SETS.flatMap((toRoles) => [false, true].map((primary) => ({ from: { roles: fromRoles, primary }, to: { roles: toRoles } }))));

  it.each(pairs.map((p) => [`${label(p.from.roles)}${p.from.primary ? ' (primary)' : ''} -> ${label(p.to.roles)}`, p] as const))('%s: firewall, cluster check and report agree', (_, { from, to }) => {
    const ruleset = rulesetOf(from, to);
    const admitted = admittedBy(ruleset, FROM);
    const toAnyone = admittedBy(ruleset, STRANGER);

    const checkOpen = new Set(expectedPorts(from, to).filter((r) => r.expected === 'open').map((r) => `${r.port}/tcp`));
    const checkBlocked = new Set(expectedPorts(from, to).filter((r) => r.expected === 'blocked').map((r) => `${r.port}/tcp`));
    const nodes = [
      { label: 'from', address: FROM, roles: [...from.roles], primary: from.primary },
      { label: 'to', address: TO, roles: [...to.roles], primary: false },
    ];
    const report = new Set(internalRequirements(nodes).filter((r) => r.source === 'from' && r.destination === 'to').map((r) => `${r.port}/${r.protocol}`));

    // cluster check and the report: the same set, whole.
    expect(sorted(checkOpen)).toEqual(sorted(report));
    // The firewall admits every one of them (a public one such as 443 to anyone)...
    expect(sorted([...report].filter((p) => !admitted.has(p)))).toEqual([]);
    // ...and lets the member through nowhere else a stranger is kept out of.
    const memberOnly = [...admitted].filter((p) => !toAnyone.has(p));
    expect(sorted(memberOnly)).toEqual(sorted([...report].filter((p) => !toAnyone.has(p))));
    // What cluster check expects blocked, the firewall drops.
    expect(sorted([...checkBlocked].filter((p) => admitted.has(p)))).toEqual([]);
    // And all of it is the catalog's one derivation.
    expect(sorted(report)).toEqual(sorted(flowsBetween(from, to).map((f) => `${f.port}/${f.protocol}`)));
  });

  it('is not vacuous: the evaluator reads peer sets, and the pairs of the seed have flows', () => {
    const app = { roles: ['application'] as RoleName[] };
    const db = { roles: ['database'] as RoleName[] };
    const ruleset = rulesetOf(app, db);
    expect(sorted(admittedBy(ruleset, FROM))).toEqual(['27017/tcp', '27019/tcp', '27020/tcp', '27030/tcp', '8443/tcp']);
    expect(sorted(admittedBy(ruleset, STRANGER))).toEqual([]);
    expect(sorted(admittedBy(ruleset, MANAGEMENT))).toEqual(['161/udp', '162/udp', '22/tcp']);
    expect(sorted(admittedBy(rulesetOf({ roles: ['webproxy'] }, { roles: ['application'] }), STRANGER))).toEqual(['443/tcp', '80/tcp']);
  });
});

describe('the seed disagreement settled: database to application', () => {
  it('a database node opens no database connection to a pure application node, by any of the three views', () => {
    const db = { roles: ['database'] as RoleName[] };
    const app = { roles: ['application'] as RoleName[] };
    expect(flowsBetween(db, app).map((f) => f.port)).toEqual([8443]);
    expect(internalRequirements([{ label: 'db', address: FROM, roles: db.roles, primary: false }, { label: 'app', address: TO, roles: app.roles, primary: false }]).filter((r) => r.source === 'db').map((r) => r.port)).toEqual([8443]);
    expect(expectedPorts(db, app)).toEqual([{ port: 8443, service: 'cluster', expected: 'open' }]);
    expect([...admittedBy(rulesetOf(db, app), FROM)].filter((p) => p.startsWith('270'))).toEqual([]);
    // The other way, and towards a unified node, the database ports are there.
    expect(flowsBetween(app, db).map((f) => f.port)).toEqual([8443, 27017, 27019, 27020, 27030]);
    expect(flowsBetween(db, { roles: ['unified'] }).map((f) => f.port)).toEqual([8443, 27017, 27019, 27020, 27030]);
  });
});
