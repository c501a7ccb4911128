// A small real cluster for a test: platformd nodes, each in a network
// namespace of its own on one LAN (createLan), set up with a role; the first
// node is the primary, has added every other and provisioned them. Also a
// fake agent: a program on the cluster port of a namespace that answers in
// whatever agent protocol version the test says, for the nodes that speak
// another version than this build.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createLan, removeStale, type Lan } from './netns.js';
import { startDaemon, type CommandResult, type RunningDaemon } from './daemon.js';
import { VERSION_HEADERS } from '../../cluster/protocol-version.js';

export interface TestCluster<Name extends string> {
  lan: Lan;
  daemons: Record<Name, RunningDaemon>;
  address(name: Name): string;
  on(name: Name, words: string[]): Promise<CommandResult>;
  /** `--json` output of a command that must succeed. */
  json(name: Name, words: string[]): Promise<any>;
  /** Starts a node's daemon again on its own home (after a test stopped it). */
  restart(name: Name): Promise<void>;
  destroy(): Promise<void>;
}

export const CLUSTER_PORT = 8443;
const daemonArgs = (firewall: 'plan' | 'apply') => ['--firewall', firewall, '--cluster-port', String(CLUSTER_PORT)];

/** `roles` in order: the first is the primary. Outsiders are namespaces on the LAN with no node (`outsiders` octets). */
export async function startCluster<Name extends string>(options: {
  prefix: string;
  net: string;
  roles: Record<Name, string>;
  outsiders?: Record<string, number>;
  firewall?: 'plan' | 'apply';
  /** The platformd each node runs (e.g. from an installed release in its own product root), and its environment. */
  program?: (name: Name) => string;
  env?: NodeJS.ProcessEnv;
  /** More daemon arguments, e.g. the catalog's web ports so that `cluster check` finds them (each node has a namespace of its own). */
  args?: string[];
}): Promise<TestCluster<Name>> {
  const names = Object.keys(options.roles) as Name[];
  const firewall = options.firewall ?? 'apply';
  removeStale(options.prefix);
  const octets = Object.fromEntries(names.map((name, i) => [name, i + 1]));
  const lan = createLan(options.prefix, options.net, `fd00:250:${options.net.split('.')[2]}`, { ...octets, ...options.outsiders });
  const daemons = {} as Record<Name, RunningDaemon>;
  const address = (name: Name) => lan.hosts[name]!.ipv4;
  const on = (name: Name, words: string[]) => daemons[name].platform(words);
  const json = async (name: Name, words: string[]) => {
    const result = await on(name, ['--json', ...words]);
    if (result.status !== 0) throw new Error(`${words.join(' ')} on ${name}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  };
  const destroy = async () => {
    await Promise.all(Object.values<RunningDaemon>(daemons).map((d) => d.stop()));
    lan.destroy();
  };
  try {
    await Promise.all(
      names.map(async (name) => {
        daemons[name] = await startDaemon({ netns: lan.hosts[name]!.ns, args: [...daemonArgs(firewall), ...(options.args ?? [])], program: options.program?.(name), env: options.env });
        const setup = await on(name, ['system', 'setup', '--hostname', `${name}01`, '--role', options.roles[name], '--ip', address(name)]);
        if (setup.status !== 0) throw new Error(`setup of ${name}: ${setup.stderr}`);
      }),
    );
    const [primary, ...members] = names;
    for (const name of members) {
      const { code } = await json(name, ['cluster', 'prepnode']);
      const added = await on(primary!, ['cluster', 'add', address(name), code]);
      if (added.status !== 0) throw new Error(`cluster add ${name}: ${added.stderr}`);
    }
    const provision = await on(primary!, ['cluster', 'provision']);
    if (provision.status !== 0) throw new Error(`cluster provision: ${provision.stderr}`);
  } catch (error) {
    await destroy();
    throw error;
  }
  const restart = async (name: Name) => {
    daemons[name] = await startDaemon({ home: daemons[name].home, netns: lan.hosts[name]!.ns, args: [...daemonArgs(firewall), ...(options.args ?? [])], program: options.program?.(name), env: options.env });
  };
  return { lan, daemons, address, on, json, restart, destroy };
}

/** What a fake agent saw of one request. */
export interface SeenRequest {
  route: string;
  headers: Record<string, string>;
  /** Whether the caller presented a client certificate. */
  certificate: boolean;
}

export interface FakeAgent {
  /** The requests it received so far, in order. */
  seen(): SeenRequest[];
  stop(): Promise<void>;
}

const FAKE_AGENT_PROGRAM = `
const https = require('node:https'), fs = require('node:fs');
const [dir, port, protocol, product, answers] = process.argv.slice(1);
const routes = JSON.parse(answers);
const server = https.createServer({ key: fs.readFileSync(dir + '/node.key'), cert: fs.readFileSync(dir + '/node.pem'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
  const route = req.url.slice(1);
  req.resume();
  req.on('end', () => {
    console.log(JSON.stringify({ route, headers: req.headers, certificate: !!req.socket.getPeerCertificate().raw }));
    let body = routes[route] ?? {};
    if (typeof body === 'string' && body.startsWith('@')) body = { node: JSON.parse(body.slice(1)), certificate: fs.readFileSync(dir + '/node.pem', 'utf8'), nonce: 'f'.repeat(32) };
    res.writeHead(200, { 'content-type': 'application/json', '${VERSION_HEADERS.protocol}': protocol, '${VERSION_HEADERS.product}': product }).end(JSON.stringify(body));
  });
});
server.listen(Number(port), () => console.log('ready'));
`;

/**
 * A fake agent in namespace `ns` on the cluster port, presenting the key and
 * certificate of `certDir` (a real node's certs/cluster, or any identity),
 * answering every request with `protocol` and `product` in its version
 * headers and the body `answers` gives its route ({} otherwise). An answer
 * "@<node JSON>" is a join/hello answer: that node, the fake's own
 * certificate and a nonce.
 */
export async function startFakeAgent(ns: string, certDir: string, protocol: string, product: string, answers: Record<string, unknown> = {}): Promise<FakeAgent> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', FAKE_AGENT_PROGRAM, certDir, String(CLUSTER_PORT), protocol, product, JSON.stringify(answers)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  const deadline = Date.now() + 10_000;
  while (!output.includes('ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the fake agent did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    seen: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as SeenRequest),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A node's cluster identity files (key, certificate), for a fake agent to present. */
export const certsOf = (daemon: RunningDaemon) => join(daemon.home, 'certs', 'cluster');
