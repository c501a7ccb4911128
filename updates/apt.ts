// apt, run on the product's terms: its own configuration file (APT_CONFIG)
// that reads none of the machine's (no apt.conf.d, sources.list.d, trusted
// keys or preferences), the one source of `security source` signed by its
// own key, its own lists and download cache in the data folder, and the
// network proxy of `network proxy` (apt's Acquire::http(s)::Proxy; SOCKS5 as
// socks5h, the proxy resolving names) unless the source's host bypasses it.
// Every value written into apt's files is checked first (core/apt-grammar.ts);
// every run is bounded in time and output; what apt prints is parsed with
// bounds and grammars, and anything else is an answer not understood.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { failure } from '../core/errors.js';
import { aptValueProblem, PACKAGE_VERSION, PACKAGE_WITH_ARCH } from '../core/apt-grammar.js';
import { writeFileInside } from '../os/files.js';
import { runProcess, type RunResult } from '../os/processes.js';
import { formatUri, type NetworkUri } from '../net/uri.js';
import type { PendingUpdate, UpdateSource } from '../store/settings.js';
import { keyringOf } from './source.js';

/** A shorter bound on every apt run, for tests of the bound on a real daemon (as PLATFORM_JOB_TIME_BOUND_MS does for jobs). */
const testBoundMs = Number(process.env.PLATFORM_APT_TIME_BOUND_MS) || undefined;

/** Bounds of one apt run: how long, and how much of its output is kept. */
export const APT_LIMITS = {
  updateMs: testBoundMs ?? 5 * 60_000,
  simulateMs: testBoundMs ?? 2 * 60_000,
  installMs: testBoundMs ?? 30 * 60_000,
  outputBytes: 4 * 1024 * 1024,
  lines: 50_000,
  lineChars: 4096,
  updates: 10_000,
  /** Seconds apt waits for a server (or the proxy) before it gives up on a connection. */
  networkTimeoutS: 30,
};

/** Where apt runs: the OS root whose packages it reads and changes, and the product's own folder for its configuration, lists and cache. */
export interface AptPlace {
  /** `/` on an appliance; a temporary tree in tests (PLATFORM_OS_ROOT). */
  root: string;
  /** `<home>/security`: root's alone. */
  state: string;
}

/** The product's folder for apt inside the data folder. */
export const aptStateDir = (home: string) => join(home, 'security');

const checked = (what: string, value: string): string => {
  const problem = aptValueProblem(value);
  if (problem) throw failure('apt-config-refused', `apt's configuration was not written: ${what} ${problem}`);
  return value;
};

/** The proxy as apt names it: http:// as is, SOCKS5 as socks5h:// (names resolved by the proxy, as the connector does). */
export function aptProxy(proxy: NetworkUri): string {
  const text = formatUri({ ...proxy, path: undefined });
  return proxy.scheme === 'socks5' ? text.replace(/^socks5:/, 'socks5h:') : text;
}

/** The one sources line: `deb [signed-by=<key>] <uri> <suite> <components>`, each part checked. */
export function sourcesLine(source: UpdateSource, keyFile: string): string {
  const parts = [checked('the source URI', source.uri), checked('the suite', source.suite), ...source.components.map((c) => checked('a component', c))];
  return `deb [signed-by=${checked('the key file path', keyFile)}] ${parts.join(' ')}\n`;
}

/** apt's configuration: every directory of its own or the OS root's, the proxy, bounded network waits. Every value is checked. */
export function aptConf(place: AptPlace, proxy: string | undefined): string {
  const root = place.root.endsWith('/') ? place.root : `${place.root}/`;
  const empty = join(place.state, 'empty');
  const entries: [string, string][] = [
    ['Dir', root],
    // Nothing of the machine's own apt configuration, sources, keys or pins.
    ['Dir::Etc::main', '/dev/null'],
    ['Dir::Etc::parts', empty],
    ['Dir::Etc::sourcelist', join(place.state, 'sources.list')],
    ['Dir::Etc::sourceparts', empty],
    ['Dir::Etc::preferences', '/dev/null'],
    ['Dir::Etc::preferencesparts', empty],
    ['Dir::Etc::trusted', '/dev/null'],
    ['Dir::Etc::trustedparts', empty],
    // The OS root's package state; the product's own lists and downloads.
    ['Dir::State', join(root, 'var/lib/apt')],
    ['Dir::State::status', join(root, 'var/lib/dpkg/status')],
    ['Dir::State::lists', join(place.state, 'lists')],
    ['Dir::Cache', join(place.state, 'cache')],
    ['Dir::Cache::archives', join(place.state, 'archives')],
    ['Dir::Log', join(place.state, 'log')],
    // The downloads land in root's own folder; what they hold is proven by the signature, not by who fetched them.
    ['APT::Sandbox::User', 'root'],
    ['Acquire::Languages', 'none'],
    ['Acquire::Retries', '0'],
    ['Acquire::http::Timeout', String(APT_LIMITS.networkTimeoutS)],
    ['Acquire::https::Timeout', String(APT_LIMITS.networkTimeoutS)],
    // No proxy entry at all when the source is reached directly (apt reads "DIRECT" only per host).
    ...(proxy ? ([['Acquire::http::Proxy', proxy], ['Acquire::https::Proxy', proxy]] as [string, string][]) : []),
  ];
  const lines = entries.map(([key, value]) => `${key} "${checked(key, value)}";`);
  // An update keeps the administrator's configuration files; dpkg works in the OS root.
  const dpkgOptions = ['--force-confdef', '--force-confold', ...(root === '/' ? [] : [`--root=${checked('the OS root', place.root)}`])];
  lines.push(`DPkg::Options { ${dpkgOptions.map((o) => `"${o}";`).join(' ')} };`);
  return `${lines.join('\n')}\n`;
}

/** Writes apt's configuration, the sources line and the key into the state folder (root's alone). */
export function writeAptFiles(place: AptPlace, source: UpdateSource, proxy: string | undefined): string {
  for (const dir of ['lists/partial', 'archives/partial', 'cache', 'log', 'empty']) mkdirSync(join(place.state, dir), { recursive: true, mode: 0o700 });
  const keyFile = writeFileInside(place.state, 'source-key.asc', keyringOf(source), 0o600);
  writeFileInside(place.state, 'sources.list', sourcesLine(source, keyFile), 0o600);
  return writeFileInside(place.state, 'apt.conf', aptConf(place, proxy), 0o600);
}

/** Forgets the lists of an earlier source: a check never reads what another source said. */
export function forgetLists(place: AptPlace): void {
  rmSync(join(place.state, 'lists'), { recursive: true, force: true });
}

/** The proxy's password is in apt.conf only while apt runs. */
export function removeAptConf(place: AptPlace): void {
  rmSync(join(place.state, 'apt.conf'), { force: true });
}

const PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
// No proxy from the daemon's environment: only `network proxy` decides.
const aptEnv = (conf?: string): Record<string, string> => ({ PATH, ...(conf ? { APT_CONFIG: conf } : {}), DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' });

/** The unit a change to the OS's packages runs in on an appliance (one at a time: systemd refuses a second of the same name). */
export const UPDATE_UNIT = 'platform-security-update';

/**
 * A program that changes the OS root's packages. On an appliance (root /)
 * it runs as a transient systemd unit (systemd-run, its output piped back):
 * platformd's own unit makes /usr and /boot read-only and bounds its
 * capabilities, and dpkg and the maintainer scripts need neither limit.
 * In a test's own OS root it runs directly (dpkg --root).
 */
export function packageChange(place: AptPlace, file: string, args: readonly string[], env: Record<string, string>): [string, string[]] {
  if (place.root !== '/') return [file, [...args]];
  const setenv = Object.entries(env).map(([key, value]) => `--setenv=${key}=${value}`);
  return ['systemd-run', ['--quiet', '--wait', '--pipe', '--collect', `--unit=${UPDATE_UNIT}`, `--property=RuntimeMaxSec=${Math.ceil(APT_LIMITS.installMs / 1000)}`, ...setenv, file, ...args]];
}

const runApt = async (file: string, args: string[], env: Record<string, string>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<RunResult> => {
  const result = await runProcess(file, args, { env, timeoutMs, maxOutputBytes: APT_LIMITS.outputBytes, signal });
  if (result.truncated) throw failure('apt-answer', `${what}: apt printed more than ${APT_LIMITS.outputBytes / 1024 / 1024} MiB; nothing was changed by the product`);
  if (result.status !== 0) throw aptFailure(what, result);
  return result;
};

/** Runs apt-get with the product's configuration (reading only: update, -s); a status other than 0 is a failure naming apt's own last words. */
export function aptGet(conf: string, args: string[], timeoutMs: number, what: string, signal?: AbortSignal): Promise<RunResult> {
  return runApt('apt-get', ['-q', ...args], aptEnv(conf), timeoutMs, what, signal);
}

/** Installs what `apt-get -s upgrade` listed (`apt-get -y upgrade`: never removes a package), in the unit on an appliance; never cancelled half-way. */
export function aptUpgrade(place: AptPlace, conf: string): Promise<RunResult> {
  const env = aptEnv(conf);
  const [file, args] = packageChange(place, 'apt-get', ['-q', '-y', 'upgrade'], env);
  return runApt(file, args, env, APT_LIMITS.installMs, 'installing the updates');
}

/** What went wrong, in words: a signature apt refused is said so, plainly. */
function aptFailure(what: string, result: RunResult) {
  const said = printableLines(result.stderr || result.stdout)
    .filter((line) => /^(E|W|Err):/.test(line))
    .slice(-3)
    .join('; ')
    .slice(0, 600);
  if (/NO_PUBKEY|EXPKEYSIG|BADSIG|signatures were invalid|is not signed|couldn't be verified|Signed-By/i.test(result.stderr)) {
    return failure('bad-signature', `${what}: the repository is not signed by the source's key, so nothing from it is trusted: ${said}`, ['check the source\'s key with "security source"; set the right one with "security source <uri> key <file>"']);
  }
  return failure('apt-failed', `${what} failed (${result.status === null ? `killed by ${result.signal}` : `exit ${result.status}`})${said ? `: ${said}` : ''}`);
}

/** apt's lines, each cut to something printable and bounded. */
const printableLines = (text: string) =>
  text
    .split('\n', APT_LIMITS.lines)
    .map((line) => line.slice(0, 300).replace(/[^\x20-\x7e]/g, '?'))
    .filter(Boolean);

/**
 * The updates `apt-get -s upgrade` would install, from its `Inst` lines:
 * `Inst <package> [<installed>] (<candidate> <release> [<arch>])`. Bounded
 * (lines, their length, the number of updates) and checked by the grammars
 * of package names and versions; an `Inst` line that does not fit is an
 * answer not understood, never a guess.
 */
export function parseSimulatedUpgrade(output: string): PendingUpdate[] {
  const lines = output.split('\n');
  if (lines.length > APT_LIMITS.lines) throw failure('apt-answer', `apt's answer has more than ${APT_LIMITS.lines} lines; not understood`);
  const updates: PendingUpdate[] = [];
  for (const line of lines) {
    if (line !== 'Inst' && !line.startsWith('Inst ')) continue;
    if (line.length > APT_LIMITS.lineChars) throw failure('apt-answer', `apt's answer has a line longer than ${APT_LIMITS.lineChars} characters; not understood`);
    const words = line.split(' ');
    const name = words[1] ?? '';
    const installedWord = words[2] ?? '';
    // A package new to the node has no installed version: the candidate follows the name.
    const hasInstalled = installedWord.startsWith('[') && installedWord.endsWith(']');
    const candidateWord = words[hasInstalled ? 3 : 2] ?? '';
    const installed = hasInstalled ? installedWord.slice(1, -1) : '';
    const candidate = candidateWord.startsWith('(') ? candidateWord.slice(1) : '';
    if (!PACKAGE_WITH_ARCH.test(name) || !PACKAGE_VERSION.test(candidate) || (hasInstalled && !PACKAGE_VERSION.test(installed))) {
      throw failure('apt-answer', `apt's answer holds a line that is not a package update: "${line.slice(0, 120).replace(/[^\x20-\x7e]/g, '?')}"`);
    }
    updates.push({ package: name, installed: hasInstalled ? installed : 'none', candidate });
    if (updates.length > APT_LIMITS.updates) throw failure('apt-answer', `apt's answer lists more than ${APT_LIMITS.updates} updates; not understood`);
  }
  return updates;
}

/** Completes what an interrupted dpkg run left half-configured (nothing when none): an update never starts on top of one. */
export async function completeInterrupted(place: AptPlace): Promise<void> {
  const env = aptEnv();
  const root = place.root === '/' ? [] : [`--root=${place.root}`];
  const [file, args] = packageChange(place, 'dpkg', [...root, '--force-confdef', '--force-confold', '--configure', '-a'], env);
  const result = await runProcess(file, args, { env, timeoutMs: APT_LIMITS.installMs, maxOutputBytes: APT_LIMITS.outputBytes });
  if (result.status !== 0) throw failure('apt-failed', `completing an interrupted update failed (dpkg --configure -a, exit ${result.status ?? result.signal}): ${printableLines(result.stderr).slice(-3).join('; ').slice(0, 600)}`);
}

/** The installed version of each package in the OS root (dpkg-query), bounded and checked; a package not installed is absent. */
export async function installedVersions(root: string, packages: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (packages.length === 0) return out;
  const result = await runProcess('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f=${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\\n', ...packages], {
    env: { PATH: process.env.PATH, LC_ALL: 'C' },
    timeoutMs: 60_000,
    maxOutputBytes: APT_LIMITS.outputBytes,
    signal,
  });
  for (const line of result.stdout.split('\n', APT_LIMITS.lines)) {
    const [pkg, version, status] = line.split(' ');
    if (!pkg || !version || !status?.startsWith('ii') || !PACKAGE_VERSION.test(version)) continue;
    const [name, arch] = pkg.split(':') as [string, string];
    if (!PACKAGE_WITH_ARCH.test(name)) continue;
    out.set(name, version);
    out.set(`${name}:${arch}`, version);
  }
  return out;
}
