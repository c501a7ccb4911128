// `system upgrade`, `system rollback`, `system release-key`: bringing a
// signed release onto a running node (releases/), and the keys releases
// must be signed with.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand, type Command } from '../core/command.js';
import { text } from '../core/argtypes.js';
import { badInput, failure } from '../core/errors.js';
import { json } from '../core/json-shape.js';
import { reply } from '../core/reply.js';
import type { Context } from '../core/context.js';
import { readBoundedFile } from '../os/files.js';
import { fileIn } from '../os/names.js';
import { formatTime } from '../core/time.js';
import { uriArg, redactUri } from '../net/uri.js';
import { gatherFacts } from '../status/facts.js';
import { bannerLines } from '../status/banner.js';
import { addTrustedKey, deleteTrustedKey, trustedKeys } from '../releases/keys.js';
import { isLinked, linkedVersion, readJson, removeRelease, runningRelease, type ProductRoot } from '../releases/layout.js';
import { verifyInstalled } from '../releases/install.js';
import { isVersion, ReleaseRefused } from '../releases/manifest.js';
import { readAttempt, readMarker, type Restart } from '../releases/marker.js';
import { fetchRelease, handOver, installFetched, RELEASE_SCHEMES } from '../releases/upgrade.js';
import { gateSeconds } from '../releases/runner.js';
import { reportLastAttempt } from '../releases/startup.js';
import { PLATFORM_VERSION } from './version.js';

/** The release this platformd runs from; commands that switch releases need one. */
function installed(): NonNullable<ReturnType<typeof runningRelease>> {
  const running = runningRelease();
  if (!running) throw failure('not-a-release', 'this platformd runs from a development checkout, not an installed release: there is nothing to upgrade or roll back (install one with platform-release install, see README "Keeping nodes current")');
  return running;
}

/** A refused release is the file's fault: bad input, said plainly. */
const refused = (error: unknown) => (error instanceof ReleaseRefused ? badInput(`release-${error.code}`, error.message) : error);

/** How the runner restarts platformd: its systemd unit when systemd runs it, else the same command line as a process. */
function restartOf(ctx: Context): Restart {
  const appliance = ctx.store.settings.get('daemon')?.appliance === true;
  if (appliance && process.env.INVOCATION_ID) return { mode: 'systemd', unit: 'platformd.service' };
  return { mode: 'process', args: process.argv.slice(2) };
}

async function warningsNow(ctx: Context): Promise<string[]> {
  return bannerLines(await gatherFacts(ctx.store, ctx.paths, ctx.services), new Date())
    .filter((l) => l.warning)
    .map((l) => l.text);
}

function inProgress(product: ProductRoot): void {
  const marker = readMarker(product);
  if (marker) throw failure('upgrade-in-progress', `${marker.kind === 'upgrade' ? `an upgrade from ${marker.from} to ${marker.to}` : `a rollback to ${marker.to}`} is in progress since ${formatTime(new Date(marker.startedAt))}: see "system upgrade status"`);
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** A progress line at most every half second: a transfer calls back for every chunk. */
function everyHalfSecond(progress: (text: string) => void): (text: string) => void {
  let last = 0;
  return (text) => {
    const now = Date.now();
    if (now - last < 500) return;
    last = now;
    progress(text);
  };
}

const upgrade = defineCommand({
  words: ['system', 'upgrade'],
  summary: 'Install a signed release (file:///media/platform-<version>.psup, http(s) through the proxy, sftp, scp, ftp) and restart on it; rolls back by itself unless it is healthy',
  args: [{ name: 'uri', type: uriArg('<uri>', RELEASE_SCHEMES), summary: 'where the release file is' }],
  json: json.object({ from: json.string(), to: json.string(), gateSeconds: json.integer(), message: json.string() }),
  confirm: () => `Upgrade this node? platformd restarts on the new release (commands are refused for a few seconds) and goes back to this one by itself unless it is healthy within ${gateSeconds()} s.`,
  async run(ctx, args) {
    const running = installed();
    const { product } = running;
    inProgress(product);
    const incoming = join(product.state, `incoming-${process.pid}.psup`);
    let manifest;
    try {
      ctx.progress(`fetching ${redactUri(args.uri)}`);
      const fetching = everyHalfSecond(ctx.progress);
      await fetchRelease({ store: ctx.store, paths: ctx.paths, ask: (q) => ctx.ask(q), signal: ctx.signal }, args.uri, incoming, (bytes) => fetching(`fetching: ${mib(bytes)}`));
      const installing = everyHalfSecond(ctx.progress);
      manifest = await installFetched(product, incoming, running.version, (bytes, total) => installing(`checking and installing: ${mib(bytes)} of ${mib(total)}`));
    } catch (error) {
      throw refused(error);
    } finally {
      rmSync(incoming, { force: true });
    }
    ctx.progress('taking a snapshot of the configuration store');
    await handOver({
      product,
      kind: 'upgrade',
      from: running.version,
      to: manifest.version,
      home: ctx.paths.home,
      restart: restartOf(ctx),
      warningsBefore: await warningsNow(ctx),
      snapshot: (file) => ctx.store.copyTo(file),
      runnerRelease: running.dir,
    });
    const message = `release ${manifest.version} is installed beside ${running.version}; platformd now restarts on it. Unless it is healthy within ${gateSeconds()} s the node goes back to ${running.version} by itself. "system upgrade status" says how it went.`;
    return reply.text(message, { from: running.version, to: manifest.version, gateSeconds: gateSeconds(), message });
  },
});

const attemptJson = json.nullable(
  json.object({ kind: json.oneOf('upgrade', 'rollback'), from: json.string(), to: json.string(), result: json.oneOf('upgraded', 'rolled-back', 'failed'), reason: json.nullable(json.string()), startedAt: json.time(), endedAt: json.time(), seconds: json.number() }),
);

const status = defineCommand({
  words: ['system', 'upgrade', 'status'],
  summary: 'Show the running release, the previous one, and the last upgrade: its result and the time it took',
  json: json.object({
    running: json.string(),
    current: json.nullable(json.string()),
    previous: json.nullable(json.string()),
    inProgress: json.nullable(json.object({ kind: json.oneOf('upgrade', 'rollback'), from: json.string(), to: json.string(), startedAt: json.time() })),
    lastAttempt: attemptJson,
    verificationFailed: json.nullable(json.string()),
  }),
  run(ctx) {
    try {
      reportLastAttempt(ctx.store, ctx.services.events && ((event) => ctx.services.events!.raise(event)), () => {});
    } catch {
      // recorded at the next start
    }
    const running = runningRelease();
    const version = running?.version ?? PLATFORM_VERSION;
    if (!running) return reply.tree({ running: `${version} (a development checkout: no installed release)` }, { running: version, current: null, previous: null, inProgress: null, lastAttempt: null, verificationFailed: null });
    const { product } = running;
    const marker = readMarker(product);
    const attempt = readAttempt(product);
    const failed = readJson<{ text?: string }>(product.verificationFailed)?.text ?? null;
    const tree: Record<string, string> = {
      running: version,
      current: linkedVersion(product.current) ?? 'none',
      previous: linkedVersion(product.previous) ?? 'none',
    };
    if (marker) tree['in progress'] = `${marker.kind} ${marker.from} -> ${marker.to} since ${formatTime(new Date(marker.startedAt))}`;
    tree['last attempt'] = attempt
      ? `${attempt.kind} ${attempt.from} -> ${attempt.to}: ${attempt.result} at ${formatTime(new Date(attempt.endedAt))}, took ${attempt.seconds} s${attempt.reason ? ` (${attempt.reason})` : ''}`
      : 'none';
    if (failed) tree['verification'] = `FAILED: ${failed} ("system release verify" clears it once the running release passes)`;
    const { reported: _reported, ...lastAttempt } = attempt ?? { reported: false };
    return reply.tree(tree, {
      running: version,
      current: linkedVersion(product.current) ?? null,
      previous: linkedVersion(product.previous) ?? null,
      inProgress: marker ? { kind: marker.kind, from: marker.from, to: marker.to, startedAt: marker.startedAt } : null,
      lastAttempt: attempt ? (lastAttempt as never) : null,
      verificationFailed: failed,
    });
  },
});

const rollback = defineCommand({
  words: ['system', 'rollback'],
  summary: 'Go back to the previous release (the configuration store goes back to its snapshot taken before the upgrade)',
  json: json.object({ from: json.string(), to: json.string(), message: json.string() }),
  confirm: () => {
    const running = runningRelease();
    const previous = running && linkedVersion(running.product.previous);
    return `Roll back to ${previous ?? 'the previous release'}? platformd restarts on it, and the configuration store goes back to the snapshot taken just before the upgrade: every change made since (settings, users, locations, jobs) is lost; the audit log keeps what was done.`;
  },
  async run(ctx) {
    const running = installed();
    const { product } = running;
    inProgress(product);
    const previous = linkedVersion(product.previous);
    if (!previous) throw failure('no-previous-release', 'there is no previous release to go back to');
    await handOver({ product, kind: 'rollback', from: running.version, to: previous, home: ctx.paths.home, restart: restartOf(ctx), warningsBefore: await warningsNow(ctx), snapshot: async () => {}, runnerRelease: running.dir });
    const message = `platformd now restarts on ${previous} with the configuration of before the upgrade; "system upgrade status" says how it went.`;
    return reply.text(message, { from: running.version, to: previous, message });
  },
});

const verifyRelease = defineCommand({
  words: ['system', 'release', 'verify'],
  summary: 'Hash every file of the running release against its signed manifest; once it passes, RELEASE VERIFICATION FAILED is cleared and the release that failed is removed',
  json: json.object({ release: json.string(), files: json.integer(), cleared: json.nullable(json.string()), message: json.string() }),
  async run(ctx) {
    const { product, version } = installed();
    ctx.progress(`hashing every file of release ${version}`);
    let files: number;
    try {
      files = (await verifyInstalled(product, version, trustedKeys(product), { full: true })).manifest.files.length;
    } catch (error) {
      if (error instanceof ReleaseRefused) throw failure('release-verification-failed', `release ${version}, which this node runs, fails its check: ${error.message}. Install a good release with "system upgrade <uri>".`);
      throw error;
    }
    const failed = readJson<{ release?: unknown; text?: unknown }>(product.verificationFailed);
    let cleared: string | null = null;
    if (failed) {
      const release = typeof failed.release === 'string' && isVersion(failed.release) ? failed.release : undefined;
      // The release that failed is linked no more: its folder goes, so that a good copy of it can be installed.
      if (release && release !== version && !isLinked(product, release)) removeRelease(product, release);
      rmSync(product.verificationFailed, { force: true });
      cleared = typeof failed.text === 'string' ? failed.text : 'a release failed its check';
    }
    const message = `release ${version}: all ${files} files match its signed manifest${cleared ? `; RELEASE VERIFICATION FAILED is cleared (it said: ${cleared})` : ''}`;
    return reply.text(message, { release: version, files, cleared, message });
  },
});

const KEY_ID = /^[0-9a-f]{16}$/;

const keyCommands: Command[] = [
  defineCommand({
    words: ['system', 'release-key', 'list'],
    summary: 'List the public keys a release must be signed with to be installed',
    json: json.array(json.object({ id: json.string(), key: json.string() })),
    run() {
      const { product } = installed();
      const rows = [...trustedKeys(product)].map(([id, key]) => ({ id, key: key.export({ format: 'der', type: 'spki' }).toString('base64') }));
      return reply.table(['id', 'key'], rows.map((r) => [r.id, r.key]), rows);
    },
  }),
  defineCommand({
    words: ['system', 'release-key', 'add'],
    summary: 'Trust a release signing key: a PEM file uploaded to media, or the base64 of the key',
    args: [{ name: 'key', type: text('<media-file|base64>'), summary: 'a file in media (PEM) or the base64 of the DER public key' }],
    json: json.object({ id: json.string(), added: json.boolean() }),
    confirm: 'Trust this key? Any release it signs can then be installed on this node.',
    async run(ctx, args) {
      const { product } = installed();
      const looksLikeFile = !/^[A-Za-z0-9+/]{40,}={0,2}$/.test(args.key);
      const value = looksLikeFile ? (await readBoundedFile(fileIn(ctx.paths.media, args.key, 'media file name'), { maxBytes: 4096, label: `media/${args.key}` })).toString('utf8') : args.key;
      try {
        const { id, added } = addTrustedKey(product, value);
        return reply.text(added ? `release key ${id} is trusted` : `release key ${id} is trusted already`, { id, added });
      } catch (error) {
        throw refused(error);
      }
    },
  }),
  defineCommand({
    words: ['system', 'release-key', 'del'],
    summary: 'Stop trusting a release signing key (never the last one)',
    args: [{ name: 'id', type: { hint: '<key-id>', parse: (v: string) => { if (!KEY_ID.test(v)) throw badInput('bad-key-id', `"${v.slice(0, 40)}" is not a key id (16 hex digits; see "system release-key list")`); return v; } } }],
    json: json.object({ id: json.string(), message: json.string() }),
    confirm: (args) => `Stop trusting release key ${String(args.id)}? Releases signed only by it can no longer be installed.`,
    run(_ctx, args) {
      const { product } = installed();
      try {
        deleteTrustedKey(product, args.id);
      } catch (error) {
        throw refused(error);
      }
      const message = `release key ${args.id} is no longer trusted`;
      return reply.text(message, { id: args.id, message });
    },
  }),
];

export const releaseCommands: Command[] = [upgrade, status, rollback, verifyRelease, ...keyCommands];
