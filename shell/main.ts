// platform: the console. Thin: it finds the daemon's socket, sends the words
// typed, and renders the answer as plain text or JSON; with no words on a
// terminal it opens the interactive console.
//   platform [--home DIR] [--json] [--yes] [WORDS...]
// Exit status: 0 done, 1 failed, 2 bad input, 3 daemon unreachable.

import { joinWords, splitWords } from '../commands/tree.js';
import { PlatformError } from '../core/errors.js';
import { isSshConnection, type CallerClaim } from '../core/protocol.js';
import { escapeControls } from '../core/escape.js';
import { pathsFor, resolveHome, type Paths } from '../core/paths.js';
import { DaemonForbidden, DaemonUnreachable, holdSession, request } from './client.js';
import { FlagError, parseFlags } from './flags.js';
import { renderBlocks } from '../core/text.js';
import { currentUser, readOwnToken } from './user.js';
import { versionLine } from '../commands/version.js';
import { BASH_COMPLETION } from '../commands/completion.js';

const USAGE = 'usage: platform [--home DIR] [--json] [--yes] [command words...]   (no words on a terminal: interactive console)';
const MORE_USAGE = [
  '       platform help [command words...]   the USAGE of a group or command',
  '       platform completion bash           a bash completion script',
  '       platform --version | --help | -h',
  'exit status: 0 done, 1 failed, 2 bad input, 3 platformd unreachable',
].join('\n');

async function main(): Promise<number> {
  let flags;
  try {
    flags = parseFlags(process.argv.slice(2), { home: 'value', json: 'flag', yes: 'flag', help: 'flag', version: 'flag', complete: 'flag' });
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    process.stderr.write(`platform: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (flags.flags.version) {
    process.stdout.write(`${versionLine('platform')}\n`);
    return 0;
  }
  if (flags.flags.help || (flags.rest.length === 1 && flags.rest[0] === '-h')) return printHelp();
  const paths = pathsFor(resolveHome(flags.values.home));
  if (flags.flags.complete) return completeWords(paths, flags.rest[0] === '--' ? flags.rest.slice(1) : flags.rest);
  // Printed here so that it works without the daemon (the tree has the same command).
  if (flags.rest.length === 2 && flags.rest[0] === 'completion' && flags.rest[1] === 'bash' && !flags.flags.json) {
    process.stdout.write(BASH_COMPLETION);
    return 0;
  }
  // An SSH one-shot (`ssh platform@host web cert details`) arrives as one
  // string; it is split here, never by a shell.
  let words = flags.rest;
  try {
    // As a login shell, sshd runs `platform -c "<command>"`: take that command's words.
    if (words[0] === '-c') {
      const inner = splitWords(words[1] ?? '');
      words = inner[0] === 'platform' || inner[0]?.endsWith('/platform') ? inner.slice(1) : inner;
    }
    const sshCommand = process.env.SSH_ORIGINAL_COMMAND;
    if (words.length === 0 && sshCommand) words = splitWords(sshCommand);
  } catch (error) {
    if (!(error instanceof PlatformError)) throw error;
    process.stderr.write(`platform: ${escapeControls(error.message)}\n`);
    return error.exitStatus;
  }
  // Global flags may also follow the words: `platform system info --json`.
  const json = flags.flags.json === true || words.includes('--json');
  const assumeYes = flags.flags.yes === true || words.includes('--yes');
  words = words.filter((w) => w !== '--json' && w !== '--yes');

  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const user = currentUser();
  // What the console says about itself; the daemon believes the user only with its token.
  const overSsh = Boolean(process.env.SSH_CONNECTION);
  const sshConnection = process.env.SSH_CONNECTION?.trim();
  const caller: CallerClaim = {
    user,
    token: readOwnToken(paths, user),
    sshConnection: sshConnection && isSshConnection(sshConnection) ? sshConnection : undefined,
    interactive,
    assumeYes,
  };

  // sshd runs the sftp subsystem (scp too) through the login shell; no command word starts with "/", so only then is the sftp module loaded.
  const sftp = words.length === 1 && words[0]!.startsWith('/') && words[0] === (await import('../ssh/sftp.js')).SFTP_SERVER;

  // Every SSH session counts against the node's session limit, whatever it runs.
  if (overSsh) {
    try {
      await holdSession(paths.socket, sftp ? 'sftp' : words.length === 0 ? 'login' : 'command', caller);
    } catch (error) {
      if (!(error instanceof DaemonUnreachable)) {
        process.stderr.write(`${escapeControls((error as Error).message, { lines: true })}\n`);
        if (error instanceof DaemonForbidden) process.stderr.write(`${error.hint}\n`);
        return 1;
      }
    }
  }

  if (sftp) return serveFiles(paths, caller);

  if (words.length === 0) {
    if (!interactive) {
      process.stderr.write(`platform: no command given and no terminal for the console\n${USAGE}\n`);
      return 2;
    }
    const { openConsole } = await import('./console/start.js');
    return openConsole(paths, caller);
  }
  return runOnce(paths, words, caller, json);
}

/** `--help`: how to call the program, and the command groups of the tree. */
async function printHelp(): Promise<number> {
  const [{ groups }, { buildTree, groupsOf }, { menu }] = await Promise.all([import('../commands/index.js'), import('../commands/tree.js'), import('../commands/health.js')]);
  const listed = buildTree(groups.filter((g) => g.listed !== false));
  process.stdout.write(`${USAGE}\n${MORE_USAGE}\n\ncommand groups (platform help <group> lists its commands):\n${menu(groupsOf(listed))}\n`);
  return 0;
}

/**
 * `--complete WORDS...` (for the bash completion script): the candidates for
 * the last word, one a line, from the daemon's tree with the caller's rights
 * (what Tab offers in the console); from the local tree when it is down.
 */
async function completeWords(paths: Paths, typed: string[]): Promise<number> {
  // Global flags typed before the command are not command words.
  const words = parseFlags(typed, { home: 'value', json: 'flag', yes: 'flag' }).rest;
  // The last word is the one being completed: as typed, unquoted.
  const line = words.length === 0 ? '' : [joinWords(words.slice(0, -1)), words[words.length - 1]].filter((w, i) => i === 1 || w !== '').join(' ');
  let candidates: string[];
  try {
    const user = currentUser();
    const caller: CallerClaim = { user, token: readOwnToken(paths, user), interactive: false, assumeYes: false };
    const response = await request(paths.socket, { op: 'complete', line, caller });
    candidates = response.type === 'completion' ? response.candidates : [];
  } catch (error) {
    if (!(error instanceof DaemonUnreachable)) throw error;
    const [{ groups }, { buildTree, complete }] = await Promise.all([import('../commands/index.js'), import('../commands/tree.js')]);
    candidates = (await complete(buildTree(groups), line)).candidates;
  }
  if (candidates.length) process.stdout.write(`${candidates.map((c) => escapeControls(c)).join('\n')}\n`);
  return 0;
}

/** SFTP confined to media; each transfer goes to the audit log. */
async function serveFiles(paths: Paths, caller: CallerClaim): Promise<number> {
  const recorded: Promise<unknown>[] = [];
  const { serveMedia } = await import('../ssh/sftp.js');
  const status = await serveMedia(paths.media, (event) => {
    recorded.push(request(paths.socket, { op: 'audit', caller, ...event }).catch(() => undefined));
  });
  await Promise.all(recorded);
  return status;
}

async function runOnce(paths: Paths, words: string[], caller: CallerClaim, json: boolean): Promise<number> {
  const socket = paths.socket;
  try {
    const response = await request(
      socket,
      { op: 'run', words, caller },
      {
        progress: (text) => {
          if (!json) process.stderr.write(`${escapeControls(text, { lines: true })}\n`);
        },
        confirm: (question) => (caller.interactive ? askLine(`${escapeControls(question)} [y/N] `).then((a) => /^y(es)?$/i.test(a.trim())) : Promise.resolve(false)),
        // Without a terminal, platformd asks only for what a command reads from standard input (--passwords-from-stdin): a line each.
        ask: (question, initial, secret) => (caller.interactive ? askLine(`${escapeControls(question)}${initial ? ` [${escapeControls(initial)}]` : ''}: `, secret) : nextStdinLine()),
      },
    );
    if (response.type === 'result') {
      // On a terminal a long text (a log) goes to the pager; in pipes and with --json it is printed as is.
      const paged = !json && process.stdout.isTTY && process.stdin.isTTY ? response.blocks.filter((b) => b.kind === 'page') : [];
      const blocks = response.blocks.filter((b) => b.kind !== 'page' || paged.length === 0);
      const out = json ? JSON.stringify(response.data, null, 2) : renderBlocks(blocks, process.stdout.columns || 100);
      if (out) process.stdout.write(`${out}\n`);
      if (paged.length) {
        const { page } = await import('./pager.js');
        // A log's own escape sequences never reach the terminal: shown escaped, as everywhere else.
        for (const block of paged) if (block.kind === 'page') await page(escapeControls(block.text, { lines: true }));
      }
      return response.exitStatus;
    }
    if (response.type === 'error') {
      if (json) process.stdout.write(`${JSON.stringify({ error: { code: response.code, message: response.message, hints: response.hints } }, null, 2)}\n`);
      process.stderr.write(`${escapeControls(response.message, { lines: true })}\n`);
      return response.exitStatus;
    }
    process.stderr.write('platform: unexpected answer from platformd\n');
    return 1;
  } catch (error) {
    if (error instanceof DaemonForbidden) {
      if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'permission-denied', message: error.message, hints: [error.hint] } }, null, 2)}\n`);
      process.stderr.write(`platform: ${error.message}\n${error.hint}\n`);
      return 1;
    }
    if (error instanceof DaemonUnreachable) {
      // The banner's facts are the node's own: show them even without the daemon.
      if (words.length === 1 && words[0] === 'health' && !json) {
        const { localBanner } = await import('../status/local.js');
        process.stdout.write((await localBanner(paths)).lines.map((l) => l.text).join('\n') + '\n');
      }
      const { unreachableMessage } = await import('./unreachable.js');
      const message = unreachableMessage(paths, error.message);
      const [what, ...todo] = message.split('\n');
      if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'daemon-unreachable', message: what, hints: todo } }, null, 2)}\n`);
      process.stderr.write(`${message}\n`);
      return 3;
    }
    // The connection broke or the daemon answered something unreadable: say so, without a stack.
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'daemon-failed', message: (error as Error).message } }, null, 2)}\n`);
    process.stderr.write(`platform: ${escapeControls((error as Error).message ?? String(error), { lines: true })}\n`);
    return 1;
  }
}

let stdinLines: AsyncIterator<string> | undefined;
/** The next line of a standard input that is not a terminal; '' once it ends. */
async function nextStdinLine(): Promise<string> {
  const { createInterface } = await import('node:readline');
  stdinLines ??= createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const next = await stdinLines.next();
  return next.done ? '' : next.value;
}

/** Asks on the terminal; a secret answer is not echoed. */
async function askLine(prompt: string, secret = false): Promise<string> {
  const [{ createInterface }, { Writable }] = await Promise.all([import('node:readline'), import('node:stream')]);
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: Boolean(process.stdin.isTTY) });
  return new Promise((resolve) => {
    rl.question(prompt, (answer) => {
      rl.close();
      if (secret) process.stderr.write('\n');
      resolve(answer);
    });
    muted = secret;
  });
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    // The interactive console's way out: a refused socket is said plainly; anything else is a bug, with its stack.
    if (error instanceof DaemonForbidden) process.stderr.write(`platform: ${error.message}\n${error.hint}\n`);
    else process.stderr.write(`platform: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  },
);
