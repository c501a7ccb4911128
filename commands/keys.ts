// `keys ...`: the node's own SSH key pair and the remote hosts it trusts,
// for password-less backups and transfers (ssh2 is the client). `user
// addkey` installs an administrator's public key for logging in here.

import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readBoundedFile, writeFileInside } from '../os/files.js';
import { runChecked } from '../os/processes.js';
import { fileIn } from '../os/names.js';
import type { Socket } from 'node:net';
import { host, integer, text } from '../core/argtypes.js';
import { badInput, failure } from '../core/errors.js';
import { reply } from '../core/reply.js';
import { defineCommand, type ArgType, type Command, type Group } from '../core/command.js';
import { type Context } from '../core/context.js';
import { connectOut, egressOf } from '../net/connector.js';
import { json, messageShape } from '../core/json-shape.js';
import { authorizedKeysDir } from '../ssh/openssh.js';
import { knownHostsFile, nodePrivateKeyFile, nodeSshDir, trustedHosts, type TrustedHost } from '../ssh/known-hosts.js';
import { defaultPort } from '../catalog/derive.js';

const sshDir = (ctx: Context) => nodeSshDir(ctx.paths);
const privateKey = (ctx: Context) => nodePrivateKeyFile(ctx.paths);
const knownHosts = (ctx: Context) => knownHostsFile(ctx.paths);

/** OpenSSH's fingerprint form: SHA256:<base64 without padding>. */
export const fingerprint = (keyBlob: Buffer) => `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;

const userAtHost: ArgType<{ user: string; host: string }> = {
  hint: '<user>@<host>',
  parse(value) {
    const at = value.lastIndexOf('@');
    if (at <= 0) throw badInput('bad-target', `<user>@<host>: "${value}" has no user`);
    const user = value.slice(0, at);
    if (!/^[a-zA-Z0-9._-]+$/.test(user)) throw badInput('bad-target', `<user>@<host>: "${user}" is not a user name`);
    return { user, host: host().parse(value.slice(at + 1)) };
  },
};

const trusted = (ctx: Context): TrustedHost[] => trustedHosts(ctx.paths);

const knownName = (h: string, port: number) => (port === defaultPort('ssh') ? h : `[${h}]:${port}`);

/** Connects with ssh2 the node's one way out (network proxy); `verify` sees the host key, `auth` says how to log in. */
async function connectSsh(ctx: Context, target: { host: string; port: number; user?: string }, verify: (blob: Buffer) => boolean, auth: { password?: string; privateKey?: Buffer }) {
  const { Client } = (await import('ssh2')).default;
  const sock: Socket = await connectOut(target.host, target.port, { egress: egressOf(ctx.store), signal: ctx.signal });
  const client = new Client();
  await new Promise<void>((resolveReady, reject) => {
    client.on('ready', () => resolveReady());
    client.on('error', (error) => reject(failure('ssh-failed', /authentication/i.test(error.message) ? `login refused for ${target.user} on ${target.host}` : `${target.host}: ${error.message}`)));
    client.connect({ sock, username: target.user ?? 'nobody', ...auth, hostVerifier: (key: Buffer) => verify(key), readyTimeout: 5000, tryKeyboard: false });
  });
  return client;
}

const commands: Command[] = [
  defineCommand({
    words: ['keys', 'create'],
    summary: "Create the node's own SSH key pair (ed25519)",
    json: json.object({ publicKey: json.string(), fingerprint: json.string() }),
    async run(ctx) {
      if (existsSync(privateKey(ctx))) {
        if (!(await ctx.confirm('The node already has a key pair; replace it? Hosts that trust the old key will refuse the new one.'))) throw failure('not-confirmed', 'kept the existing key pair');
        rmSync(privateKey(ctx), { force: true });
        rmSync(`${privateKey(ctx)}.pub`, { force: true });
      }
      mkdirSync(sshDir(ctx), { recursive: true, mode: 0o700 });
      await runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `platform@${ctx.store.settings.get('node')?.hostname ?? 'node'}`, '-f', privateKey(ctx)], { timeoutMs: 30_000 });
      const publicKey = readFileSync(`${privateKey(ctx)}.pub`, 'utf8').trim();
      return reply.tree({ 'public key': publicKey, fingerprint: fingerprint(Buffer.from(publicKey.split(' ')[1]!, 'base64')) });
    },
  }),
  defineCommand({
    words: ['keys', 'list'],
    summary: "Show the node's public key and the hosts it trusts",
    json: json.object({ publicKey: json.nullable(json.string()), trustedHosts: json.array(json.object({ host: json.string(), key: json.string() })) }),
    run(ctx) {
      const own = existsSync(`${privateKey(ctx)}.pub`) ? readFileSync(`${privateKey(ctx)}.pub`, 'utf8').trim() : null;
      return reply.tree({
        'public key': own ?? 'none (run "keys create")',
        'trusted hosts': Object.fromEntries(trusted(ctx).map((t) => [knownName(t.host, t.port), `${t.type} ${fingerprint(Buffer.from(t.key, 'base64'))}`])),
      }, {
        publicKey: own ?? null,
        trustedHosts: trusted(ctx).map((t) => ({ host: knownName(t.host, t.port), key: `${t.type} ${fingerprint(Buffer.from(t.key, 'base64'))}` })),
      });
    },
  }),
  defineCommand({
    words: ['keys', 'add'],
    summary: "Trust a remote host's SSH key, after showing its fingerprint",
    json: json.object({ trusted: json.string(), key: json.string() }),
    args: [
      { name: 'host', type: host() },
      { name: 'port', type: integer('<port>', 1, 65535), optional: true },
    ],
    async run(ctx, args) {
      const target = { host: args.host, port: args.port ?? defaultPort('ssh') };
      let seen: Buffer | undefined;
      const client = await connectSsh(ctx, target, (blob) => ((seen = blob), false), {}).catch((error) => {
        if (seen) return undefined; // refused on purpose after seeing the key
        throw error;
      });
      client?.end();
      if (!seen) throw failure('no-host-key', `${target.host} did not present a host key`);
      const type = seen.subarray(4, 4 + seen.readUInt32BE(0)).toString();
      const print = fingerprint(seen);
      const presented = `${knownName(target.host, target.port)} presents ${type} ${print}`;
      if (!(await ctx.confirm(`${presented}. Trust it?`))) throw failure('not-confirmed', `not trusted: ${presented}; compare it with the host's own fingerprint, then add --yes`);
      mkdirSync(sshDir(ctx), { recursive: true, mode: 0o700 });
      const others = trusted(ctx).filter((t) => !(t.host === target.host && t.port === target.port));
      writeFileSync(knownHosts(ctx), [...others.map((t) => `${knownName(t.host, t.port)} ${t.type} ${t.key}`), `${knownName(target.host, target.port)} ${type} ${seen.toString('base64')}`].join('\n') + '\n');
      return reply.tree({ trusted: knownName(target.host, target.port), key: `${type} ${print}` });
    },
  }),
  defineCommand({
    words: ['keys', 'del'],
    summary: 'Stop trusting a remote host',
    json: messageShape,
    args: [
      { name: 'host', type: host() },
      { name: 'port', type: integer('<port>', 1, 65535), optional: true },
    ],
    run(ctx, args) {
      const port = args.port ?? defaultPort('ssh');
      const list = trusted(ctx);
      const kept = list.filter((t) => !(t.host === args.host && t.port === port));
      if (kept.length === list.length) throw badInput('not-trusted', `${knownName(args.host, port)} is not a trusted host; see "keys list"`);
      writeFileSync(knownHosts(ctx), kept.map((t) => `${knownName(t.host, t.port)} ${t.type} ${t.key}`).join('\n') + (kept.length ? '\n' : ''));
      return reply.text(`no longer trusted: ${knownName(args.host, port)}`);
    },
  }),
  defineCommand({
    words: ['keys', 'send'],
    summary: "Install the node's public key on a trusted host, for password-less backups",
    json: messageShape,
    args: [
      { name: 'target', type: userAtHost },
      { name: 'port', type: integer('<port>', 1, 65535), optional: true },
    ],
    async run(ctx, args) {
      const { user, host: remote } = args.target;
      const port = args.port ?? defaultPort('ssh');
      if (!existsSync(`${privateKey(ctx)}.pub`)) throw failure('no-key', 'the node has no key pair yet; run "keys create"');
      const known = trusted(ctx).find((t) => t.host === remote && t.port === port);
      if (!known) throw failure('not-trusted', `${knownName(remote, port)} is not trusted yet; run "keys add ${remote}${port === defaultPort('ssh') ? '' : ` ${port}`}" first`);
      const password = await ctx.ask({ text: `password of ${user}@${remote}`, secret: true });
      const verify = (blob: Buffer) => blob.toString('base64') === known.key;
      const publicKey = readFileSync(`${privateKey(ctx)}.pub`, 'utf8').trim();
      ctx.progress(`logging in to ${user}@${remote}`);
      const client = await connectSsh(ctx, { host: remote, port, user }, verify, { password });
      ctx.progress('installing the public key');
      await new Promise<void>((done, reject) => {
        client.exec('umask 077 && mkdir -p ~/.ssh && cat >> ~/.ssh/authorized_keys', (error, stream) => {
          if (error) return reject(failure('send-failed', error.message));
          let status: number | undefined;
          stream.on('exit', (code: number) => (status = code));
          // The channel closes only once its output has been read.
          stream.resume();
          stream.stderr.resume();
          stream.on('close', () => (status === 0 ? done() : reject(failure('send-failed', `the remote shell answered ${status ?? 'nothing'}`))));
          stream.end(`${publicKey}\n`);
        });
      });
      client.end();
      // Prove it: log in again with the key alone.
      ctx.progress('logging in again with the key alone');
      const again = await connectSsh(ctx, { host: remote, port, user }, verify, { privateKey: readFileSync(privateKey(ctx)) });
      again.end();
      return reply.text(`installed; ${user}@${remote} now accepts this node's key without a password`);
    },
  }),
];

/** An OpenSSH public key line is well under this (RSA 16384 is about 2.8 KB). */
const MAX_PUBLIC_KEY_BYTES = 16 * 1024;

/** `user addkey <user> <file in media>`: an administrator's public key for logging in here. */
export const userAddKey = defineCommand({
  words: ['user', 'addkey'],
  summary: "Add a user's SSH public key (a file uploaded to media)",
  json: json.object({ user: json.string(), added: json.string() }),
  args: [
    { name: 'name', type: text('<user>') },
    { name: 'file', type: text('<file>') },
  ],
  async run(ctx, args) {
    const name = args.name;
    const known = ['platform', 'root'].includes(name) || ctx.store.users.exists(name);
    if (!known) throw badInput('no-such-user', `no user named ${name}; see "user list"`);
    const line = (await readBoundedFile(fileIn(ctx.paths.media, args.file, 'media file name'), { maxBytes: MAX_PUBLIC_KEY_BYTES, label: `media/${args.file}` })).toString('utf8').trim();
    const match = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) ([A-Za-z0-9+/=]+)( [^\n]*)?$/.exec(line);
    if (!match) throw badInput('not-a-public-key', `media/${args.file} is not one OpenSSH public key line (ssh-ed25519, ssh-rsa or ecdsa)`);
    const blob = Buffer.from(match[2]!, 'base64');
    if (blob.length < 4 || blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() !== match[1]) throw badInput('not-a-public-key', 'the key data does not match its type');
    const dir = authorizedKeysDir(ctx.paths.etc);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755); // sshd reads it as the user logging in
    const file = fileIn(dir, name, 'user name');
    const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
    writeFileInside(dir, name, `${before}${line}\n`, 0o644);
    return reply.tree({ user: name, added: `${match[1]} ${fingerprint(blob)}` });
  },
});

export const keysGroup: Group = { word: 'keys', summary: 'ssh/sftp credentials', commands };
