// `diag connectivity`: every outbound flow to what is configured, tried the
// way the real flow goes, each answered with one verdict:
//
//   ok                                       the destination answered as its service does
//   refused by this node's egress policy     firewall egress strict does not let it out (nothing sent)
//   blocked on the way                       connection refused or reset, ICMP unreachable, the proxy said no
//   no answer                                nothing came back within the probe's time
//   failed                                   reached, but the service said no (a login, a folder, a name, a clock)
//
// TCP goes through net/connector.ts as backups and mail do (through the
// proxy unless bypassed); UDP (DNS, NTP, SNMP) goes direct, as it always
// does, after the same egress verdict the connector and the firewall use.
// Bounded: each probe has its own time, at most CONCURRENCY run at once,
// and the whole run ends within TOTAL_BOUND_MS whatever is configured.

import { hostname as osHostname } from 'node:os';
import { configuredFlow, defaultPort, flowPort } from '../catalog/derive.js';
import type { Protocol } from '../catalog/services.js';
import type { Store } from '../store/db.js';
import { nodeOrDefault } from '../store/node.js';
import { egressOf, proxyAddress, proxyFor, type Egress } from './connector.js';
import { queryTcp, queryUdp, resolverServes, systemResolvers, type DnsAnswer } from './dns.js';
import { egressVerdict, refusalMessage, relayDestination } from './egress.js';
import { backupDestinations, notifyTargets } from './locations.js';
import { outcomeOf, probeFolder, probeNtp, probeSftp, probeTcp, type Outcome, type ProbeResult } from './probe.js';
import { effectivePort, redactUri, type NetworkUri } from './uri.js';

export const VERDICTS = ['ok', "refused by this node's egress policy", 'blocked on the way', 'no answer', 'failed'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** A probe's outcome as the verdict a person reads. */
const VERDICT_OF: Record<Outcome, Verdict> = {
  ok: 'ok',
  'egress refused': "refused by this node's egress policy",
  refused: 'blocked on the way',
  unreachable: 'blocked on the way',
  'timed out': 'no answer',
  unresolved: 'failed',
  'tls intercepted': 'failed',
  'tls untrusted': 'failed',
  failed: 'failed',
};

/** How long one probe may take (an SFTP login and test write, an inform and its one repeat fit). */
export const PROBE_TIMEOUT_MS = 3000;
export const FLOW_DEADLINE_MS = 8000;
export const CONCURRENCY = 8;
/** The whole command ends within this, however many flows: the ones not finished by then say so. */
export const TOTAL_BOUND_MS = 30_000;

export interface Flow {
  /** What the flow is for, e.g. `NTP server`, `backup "nightly"`. */
  flow: string;
  /** host:port or a folder, passwords never shown. */
  destination: string;
  protocol: Protocol | 'file';
  /** `direct`, or the proxy it goes through. */
  via: string;
  probe(signal: AbortSignal): Promise<ProbeResult>;
}

export interface FlowResult {
  flow: string;
  destination: string;
  protocol: Flow['protocol'];
  via: string;
  verdict: Verdict;
  detail: string;
  ms: number;
}

/** What the caller hands in from the floors beside this one: sending a test SNMP inform (notify/trap.ts). */
export interface ConnectivityTools {
  /** Resolves when the receiver acknowledged a test inform; rejects otherwise. */
  inform(uri: NetworkUri, signal: AbortSignal): Promise<void>;
}

const where = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** A DNS answer as a probe result: any answer from the resolver proves the flow, a refusal or failure of the resolver does not. */
function dnsResult(answer: DnsAnswer): ProbeResult {
  if (resolverServes(answer)) return { outcome: 'ok', detail: `answered: ${answer.detail}`, ms: answer.ms };
  if (answer.answered) return { outcome: 'failed', detail: `the resolver answered "${answer.detail}": it does not resolve names for this node`, ms: answer.ms };
  if (answer.detail === 'timed out') return { outcome: 'timed out', detail: 'no answer in time: the port is dropped, or no resolver runs there', ms: answer.ms };
  const code = /\b(E[A-Z]+)\b/.exec(answer.detail)?.[1];
  if (/^refused/.test(answer.detail)) return { outcome: 'refused', detail: answer.detail, ms: answer.ms };
  return { ...(code ? outcomeOf(Object.assign(new Error(answer.detail), { code })) : { outcome: 'failed' as const, detail: answer.detail }), ms: answer.ms };
}

/** An SNMP inform: acknowledged, or no answer (a receiver that drops it and one that is not there look alike over UDP). */
async function informResult(tools: ConnectivityTools, uri: NetworkUri, signal: AbortSignal): Promise<ProbeResult> {
  const start = performance.now();
  try {
    await tools.inform(uri, signal);
    return { outcome: 'ok', detail: 'a test inform was acknowledged by the receiver', ms: performance.now() - start };
  } catch (error) {
    const text = (error as Error).message ?? String(error);
    const timedOut = /timed? ?out/i.test(text) || signal.aborted;
    return { outcome: timedOut ? 'timed out' : 'failed', detail: timedOut ? 'the test inform was not acknowledged in time: UDP is dropped, or no receiver accepts these credentials' : `the test inform failed: ${text.slice(0, 200)}`, ms: performance.now() - start };
  }
}

/** Every outbound flow the configuration needs, each with the probe that tries it as it really goes. */
export function connectivityFlows(store: Store, tools: ConnectivityTools, egress: Egress = egressOf(store)): Flow[] {
  const node = nodeOrDefault(store, osHostname());
  const flows: Flow[] = [];
  /** UDP, and DNS over TCP: sent direct after the egress verdict the firewall applies to them. */
  const direct = (flow: string, host: string, port: number, protocol: Protocol, probe: (signal: AbortSignal) => Promise<ProbeResult>) => {
    const allowed = !egress.policy || egressVerdict(egress.policy, host, port, protocol).allowed;
    const refused: ProbeResult = { outcome: 'egress refused', detail: `${refusalMessage(host, port)} (${protocol.toUpperCase()})`, ms: 0 };
    flows.push({ flow, destination: where(host, port), protocol, via: 'direct', probe: (signal) => (allowed ? probe(signal) : Promise.resolve(refused)) });
  };
  /** TCP through net/connector.ts: the proxy unless bypassed, the egress policy for a direct connection. */
  const tcp = (flow: string, host: string, port: number, probe: (signal: AbortSignal) => Promise<ProbeResult>) => {
    const proxy = proxyFor(egress, host);
    flows.push({ flow, destination: where(host, port), protocol: 'tcp', via: proxy ? `proxy ${proxyAddress(proxy)}` : 'direct', probe });
  };
  const options = (signal: AbortSignal) => ({ egress, timeoutMs: PROBE_TIMEOUT_MS, signal });

  // Without servers of its own the node asks the system's resolvers: those are what it depends on then.
  const dns = configuredFlow('dns');
  for (const server of node.dns.length ? node.dns : systemResolvers()) {
    const [udp, tcpPort] = [flowPort(dns, 'udp'), flowPort(dns, 'tcp')];
    direct('DNS server', server, udp, 'udp', () => queryUdp(node.hostname, server, udp, PROBE_TIMEOUT_MS).then(dnsResult));
    direct('DNS server', server, tcpPort, 'tcp', () => queryTcp(node.hostname, server, tcpPort, PROBE_TIMEOUT_MS).then(dnsResult));
  }
  const ntp = flowPort(configuredFlow('ntp'), 'udp');
  for (const server of node.ntp) direct('NTP server', server, ntp, 'udp', (signal) => probeNtp(server, ntp, { timeoutMs: PROBE_TIMEOUT_MS, signal }));
  if (egress.proxy) {
    const { proxy } = egress;
    const port = effectivePort(proxy)!;
    // The proxy itself is reached directly.
    flows.push({ flow: `proxy (${proxy.scheme})`, destination: where(proxy.host!, port), protocol: 'tcp', via: 'direct', probe: (signal) => probeTcp(proxy.host!, port, { ...options(signal), egress: { ...egress, proxy: undefined } }) });
  }
  for (const location of backupDestinations(store)) {
    const { uri } = location;
    const flow = `backup "${location.name}"${location.alternate ? ' (alternate)' : ''}`;
    if (uri.scheme === 'file') {
      flows.push({ flow, destination: uri.path ?? '/', protocol: 'file', via: 'local', probe: () => probeFolder(uri.path ?? '/') });
      continue;
    }
    const port = effectivePort(uri)!;
    tcp(`${flow} ${uri.scheme}`, uri.host!, port, (signal) => (uri.scheme === 'sftp' || uri.scheme === 'scp' ? probeSftp(uri, options(signal)) : probeTcp(uri.host!, port, options(signal))));
  }
  const targets = notifyTargets(store);
  for (const target of targets.filter((t) => t.uri.scheme === 'snmp')) {
    const { uri } = target;
    direct(`SNMP ${uri.snmpVersion} inform (${target.level}) ${redactUri(uri)}`, uri.host!, effectivePort(uri)!, 'udp', (signal) => informResult(tools, uri, signal));
  }
  // Mail goes to the relay (notify emailrelay), or straight to each address's host without one.
  const mailto = targets.filter((t) => t.uri.scheme === 'mailto');
  const relayText = store.settings.get('notify.emailrelay');
  const relay = relayText ? relayDestination(relayText) : undefined;
  const mailHosts = relay && mailto.length ? [{ flow: 'mail relay', ...relay }] : mailto.map((t) => ({ flow: `mail to ${redactUri(t.uri)} (${t.level}, no relay)`, host: t.uri.host!, port: defaultPort('smtp') }));
  for (const m of mailHosts) tcp(m.flow, m.host, m.port, (signal) => probeTcp(m.host, m.port, options(signal)));
  return flows;
}

/** One flow under its deadline: the probe is told to stop when the deadline passes, and the verdict says so. */
async function runFlow(flow: Flow, deadlineMs: number): Promise<FlowResult> {
  const start = performance.now();
  const stop = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => {
      stop.abort();
      resolve({ outcome: 'timed out', detail: `no answer within ${(deadlineMs / 1000).toFixed(1)} s` });
    }, deadlineMs);
  });
  const result = await Promise.race([flow.probe(stop.signal).catch((error: NodeJS.ErrnoException) => outcomeOf(error)), late]);
  clearTimeout(timer);
  stop.abort();
  const { probe: _probe, ...shown } = flow;
  return { ...shown, verdict: VERDICT_OF[result.outcome], detail: result.detail, ms: Math.round(result.ms ?? performance.now() - start) };
}

export interface RunOptions {
  concurrency?: number;
  flowDeadlineMs?: number;
  totalBoundMs?: number;
  signal?: AbortSignal;
}

/** Tries every flow, at most `concurrency` at once, all within `totalBoundMs`; results in the flows' order. */
export async function probeFlows(flows: readonly Flow[], options: RunOptions = {}): Promise<FlowResult[]> {
  const { concurrency = CONCURRENCY, flowDeadlineMs = FLOW_DEADLINE_MS, totalBoundMs = TOTAL_BOUND_MS } = options;
  const end = performance.now() + totalBoundMs;
  const results: FlowResult[] = new Array(flows.length);
  let next = 0;
  const worker = async () => {
    while (next < flows.length) {
      const i = next++;
      const flow = flows[i]!;
      const left = end - performance.now();
      if (left <= 0 || options.signal?.aborted) {
        const { probe: _probe, ...shown } = flow;
        results[i] = { ...shown, verdict: 'no answer', detail: `not tried: the command's bound of ${totalBoundMs / 1000} s was reached first`, ms: 0 };
        continue;
      }
      results[i] = await runFlow(flow, Math.min(flowDeadlineMs, left));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, flows.length) }, worker));
  return results;
}
