// Test hosts in network namespaces: a LAN made of a hub namespace holding a
// bridge and one namespace per host, each with its own IPv4 and IPv6
// address. Never touches the host's own namespace or ruleset.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface Host {
  ns: string;
  ipv4: string;
  ipv6: string;
}

export interface Lan {
  hosts: Record<string, Host>;
  destroy(): void;
}

const run = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Removes namespaces left by an earlier run that died (same prefix). */
export function removeStale(prefix: string): void {
  const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    if (name && name.startsWith(prefix)) {
      try {
        run(['netns', 'del', name]);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * hosts: name → last octet; addresses are `<v4net>.<octet>` and `<v6net>::<octet>`.
 * `prefix` must be unique per test file (e.g. "psfw" + pid).
 */
export function createLan(prefix: string, v4net: string, v6net: string, hosts: Record<string, number>): Lan {
  const hub = `${prefix}hub`;
  const created: string[] = [];
  const destroy = () => {
    for (const ns of created.reverse()) {
      try {
        run(['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  };
  try {
    run(['netns', 'add', hub]);
    created.push(hub);
    run(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    run(['-n', hub, 'link', 'set', 'br0', 'up']);
    const out: Record<string, Host> = {};
    let i = 0;
    for (const [name, octet] of Object.entries(hosts)) {
      const ns = `${prefix}${name}`;
      run(['netns', 'add', ns]);
      created.push(ns);
      const hubSide = `v${i++}`;
      run(['-n', hub, 'link', 'add', hubSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run(['-n', hub, 'link', 'set', hubSide, 'master', 'br0']);
      run(['-n', hub, 'link', 'set', hubSide, 'up']);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
      run(['-n', ns, 'addr', 'add', `${v4net}.${octet}/24`, 'dev', 'eth0']);
      run(['-n', ns, 'addr', 'add', `${v6net}::${octet}/64`, 'dev', 'eth0', 'nodad']);
      run(['-n', ns, 'link', 'set', 'eth0', 'up']);
      out[name] = { ns, ipv4: `${v4net}.${octet}`, ipv6: `${v6net}::${octet}` };
    }
    return { hosts: out, destroy };
  } catch (error) {
    destroy();
    throw error;
  }
}

/**
 * A listener process inside a namespace: TCP and UDP echo servers on the
 * given ports, controlled over stdin ("close 443/tcp", "open 443/tcp").
 */
export interface Listeners {
  close(key: string): Promise<void>;
  open(key: string): Promise<void>;
  stop(): void;
}

const LISTENER_PROGRAM = `
const net = require('node:net'), dgram = require('node:dgram'), rl = require('node:readline');
const servers = new Map();
function open(key) {
  const [port, proto] = key.split('/');
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = dgram.createSocket({ type: 'udp6', ipv6Only: false });
      s.on('message', (m, r) => s.send(m, r.port, r.address));
      s.bind(Number(port), '::', () => { servers.set(key, s); resolve(); });
    } else {
      const s = net.createServer((c) => { c.on('error', () => {}); c.pipe(c); });
      s.listen(Number(port), '::', () => { servers.set(key, s); resolve(); });
    }
  });
}
function close(key) { return new Promise((resolve) => { const s = servers.get(key); servers.delete(key); if (!s) return resolve(); s.close(() => resolve()); if (s.closeAllConnections) s.closeAllConnections(); }); }
(async () => {
  for (const key of process.argv.slice(1)) await open(key);
  console.log('ready');
  rl.createInterface({ input: process.stdin }).on('line', async (line) => {
    const [verb, key] = line.split(' ');
    await (verb === 'open' ? open(key) : close(key));
    console.log('done ' + line);
  });
})();
`;

export async function startListeners(ns: string, keys: string[]): Promise<Listeners> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', LISTENER_PROGRAM, ...keys], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  const waiters: [string, () => void][] = [];
  child.stdout!.on('data', (d) => {
    output += d;
    for (const [text, resolve] of [...waiters]) if (output.includes(text)) resolve();
  });
  const wait = (text: string) =>
    new Promise<void>((resolve) => {
      if (output.includes(text)) return resolve();
      waiters.push([text, resolve]);
    });
  await wait('ready');
  const command = async (line: string) => {
    child.stdin!.write(line + '\n');
    await wait(`done ${line}`);
    output = output.replace(`done ${line}`, '');
  };
  return { close: (key) => command(`close ${key}`), open: (key) => command(`open ${key}`), stop: () => child.kill('SIGKILL') };
}

const PROBE_PROGRAM = `
const net = require('node:net'), dgram = require('node:dgram');
const [address, timeout, ...keys] = process.argv.slice(1);
const v6 = address.includes(':');
const one = (key) => new Promise((resolve) => {
  const [port, proto] = key.split('/');
  const timer = setTimeout(() => done(false), Number(timeout));
  let s;
  const done = (ok) => { clearTimeout(timer); try { s.destroy ? s.destroy() : s.close(); } catch {} resolve(ok); };
  if (proto === 'udp') {
    s = dgram.createSocket(v6 ? 'udp6' : 'udp4');
    s.on('message', () => done(true));
    s.on('error', () => done(false));
    s.send('x', Number(port), address);
  } else {
    s = net.connect(Number(port), address, () => done(true));
    s.on('error', () => done(false));
  }
});
Promise.all(keys.map(one)).then((r) => { console.log(JSON.stringify(keys.filter((_, i) => r[i]))); });
`;

/** Probes ports of `address` from inside a namespace, all at once; returns the keys that answered (TCP connect, UDP echo). */
export function reachable(fromNs: string, address: string, keys: string[], timeoutMs = 700): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', fromNs, process.execPath, '-e', PROBE_PROGRAM, address, String(timeoutMs), ...keys], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as string[]);
      } catch {
        reject(new Error(`probe failed: ${out}`));
      }
    });
  });
}

export async function probe(fromNs: string, address: string, key: string, timeoutMs = 700): Promise<boolean> {
  return (await reachable(fromNs, address, [key], timeoutMs)).length === 1;
}
