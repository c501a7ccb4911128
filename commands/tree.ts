// One tree drives everything a person types: parsing with unique-prefix
// abbreviation, "ambiguous" and "unknown" errors with suggestions, Tab
// completion, `?` help and the USAGE listings. It is pure: rights and
// dynamic completions come in as functions.

import { badInput, failure, PlatformError } from '../core/errors.js';
import { type Args, type ArgSpec, type ArgType, type Command, type Group, type OptionSpec } from '../core/command.js';
import { type Context } from '../core/context.js';
import type { Visibility } from '../users/rights.js';
import { redactSecrets } from '../net/uri.js';

export interface TreeNode {
  word: string;
  /** Words from the root to here. */
  path: string[];
  summary: string;
  children: TreeNode[];
  command?: Command;
}

/** Decides whether a command is shown to, and runnable by, the caller. */
const everything: Visibility = (command) => !command.hidden;

export function buildTree(groups: readonly Group[]): TreeNode {
  const root: TreeNode = { word: '', path: [], summary: '', children: [] };
  for (const group of groups) {
    const groupNode = child(root, group.word);
    groupNode.summary = group.summary;
    for (const command of group.commands) {
      if (command.words[0] !== group.word) throw new Error(`command "${command.words.join(' ')}" is not in group ${group.word}`);
      let node = groupNode;
      for (const word of command.words.slice(1)) node = child(node, word);
      if (node.command) throw new Error(`command "${command.words.join(' ')}" is defined twice`);
      node.command = command;
      node.summary ||= command.summary;
    }
  }
  return root;
}

function child(parent: TreeNode, word: string): TreeNode {
  let node = parent.children.find((c) => c.word === word);
  if (!node) {
    node = { word, path: [...parent.path, word], summary: '', children: [] };
    parent.children.push(node);
    parent.children.sort((a, b) => a.word.localeCompare(b.word));
  }
  return node;
}

/** A node is visible when it, or something under it, is a visible command. */
function isVisible(node: TreeNode, visible: Visibility): boolean {
  if (node.command && visible(node.command)) return true;
  return node.children.some((c) => isVisible(c, visible));
}

function visibleChildren(node: TreeNode, visible: Visibility): TreeNode[] {
  return node.children.filter((c) => isVisible(c, visible));
}

// ---------------------------------------------------------------------------
// Splitting a line into words. Quotes group words; nothing is ever handed to
// a shell, so metacharacters are plain text.

export function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw badInput('unclosed-quote', `unclosed ${quote} quote`);
  if (inWord) words.push(current);
  return words;
}

/** Words back into a line that splitWords reads as the same words. */
export function joinWords(words: readonly string[]): string {
  return words.map((w) => (w === '' || /[\s"'\\]/.test(w) ? `"${w.replace(/["\\]/g, '\\$&')}"` : w)).join(' ');
}

// ---------------------------------------------------------------------------
// Resolving words to a node, with abbreviation.

interface Walk {
  node: TreeNode;
  /** Index of the first word not consumed as a command word. */
  consumed: number;
}

function matchWord(node: TreeNode, typed: string, visible: Visibility): TreeNode[] {
  const candidates = visibleChildren(node, visible);
  const exact = candidates.find((c) => c.word === typed);
  if (exact) return [exact];
  return candidates.filter((c) => c.word.startsWith(typed));
}

function walk(root: TreeNode, words: readonly string[], visible: Visibility): Walk {
  let node = root;
  let i = 0;
  for (; i < words.length; i++) {
    const typed = words[i]!;
    if (typed.startsWith('-')) break;
    const matches = matchWord(node, typed, visible);
    if (matches.length === 1) {
      node = matches[0]!;
      continue;
    }
    // Words after a runnable command are its arguments.
    if (node.command && visible(node.command)) break;
    if (matches.length > 1) {
      throw badInput(
        'ambiguous-command',
        `ambiguous command "${[...node.path, typed].join(' ')}": could be ${matches.map((m) => m.word).join(', ')}`,
        matches.map((m) => m.path.join(' ')),
      );
    }
    const near = nearest(typed, visibleChildren(node, visible).map((c) => c.word)).map((w) => [...node.path, w].join(' '));
    // A verb from another command line (show, list ...) goes by the other words first; a typo by its near words.
    const byWords = near.length && !VERB_WORDS.has(typed.toLowerCase()) ? [] : byOtherWords(root, node, typed, words.slice(i + 1), visible);
    const suggestions = byWords.length ? byWords : near;
    throw badInput(
      'unknown-command',
      `unknown command "${[...node.path, typed].join(' ')}"` + (suggestions.length ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(' or ')}?` : ''),
      suggestions,
    );
  }
  return { node, consumed: i };
}

/** Verbs people bring from other command lines, and the words this tree has for them, most likely first. */
const VERB_WORDS: ReadonlyMap<string, readonly string[]> = (() => {
  const show = ['status', 'details', 'list', 'info', 'show', 'view'];
  const verbs = { show, display: show, get: show, view: show, print: show, cat: show, ls: ['list'], list: ['list'], remove: ['del'], delete: ['del'], rm: ['del'], create: ['add'], new: ['add'] };
  return new Map(Object.entries(verbs));
})();

/**
 * For an unknown word: the command the other words and the verb point at.
 * `show firewall` is "firewall status", `web cert show` "web cert details";
 * other words that name a group without a matching verb suggest the group.
 */
function byOtherWords(root: TreeNode, at: TreeNode, verb: string, others: readonly string[], visible: Visibility): string[] {
  const verbChild = (node: TreeNode) => {
    const children = visibleChildren(node, visible);
    for (const word of VERB_WORDS.get(verb.toLowerCase()) ?? []) {
      const found = children.find((c) => c.word === word);
      if (found) return found;
    }
    return undefined;
  };
  for (const start of [at, root]) {
    let node = start;
    for (const word of others) {
      if (word.startsWith('-')) break;
      const matches = matchWord(node, word, visible);
      if (matches.length !== 1) break;
      node = matches[0]!;
    }
    if (node !== start) return [(verbChild(node) ?? node).path.join(' ')];
  }
  const alone = verbChild(at);
  return alone ? [alone.path.join(' ')] : [];
}

/** The group or command that `words` name (abbreviations allowed); nothing else may follow. */
export function nodeAt(root: TreeNode, words: readonly string[], visible: Visibility = everything): TreeNode {
  const { node, consumed } = walk(root, words, visible);
  if (consumed < words.length) throw badInput('unknown-command', `unknown command "${[...node.path, words[consumed]!].join(' ')}"`);
  return node;
}

/**
 * A prefix of a command line as the tree reads it: the command words
 * resolved (abbreviations allowed, the tree's own errors otherwise), then any
 * argument words as typed. `firewal st` is `firewall status`.
 */
export function resolvePrefix(root: TreeNode, words: readonly string[], visible: Visibility = everything): { node: TreeNode; words: string[] } {
  const { node, consumed } = walk(root, words, visible);
  if (consumed < words.length && !node.command) throw badInput('unknown-command', `unknown command "${[...node.path, words[consumed]!].join(' ')}"`);
  return { node, words: [...node.path, ...words.slice(consumed)] };
}

/** Every command at or under a node. */
export function commandsUnder(node: TreeNode): Command[] {
  return [...(node.command ? [node.command] : []), ...node.children.flatMap(commandsUnder)];
}

const registered = new WeakMap<readonly Group[], TreeNode>();

/** The daemon's whole tree, for a command that reads another command line (core/command.ts CommandIndex). */
export function registeredTree(ctx: Context): TreeNode {
  const groups = ctx.services.commands?.groups;
  if (!groups) throw failure('no-command-tree', 'the command tree is not registered in this daemon');
  let root = registered.get(groups);
  if (!root) registered.set(groups, (root = buildTree(groups)));
  return root;
}

/** Words within an edit distance of 2, or that start with what was typed, nearest first. */
export function nearest(typed: string, words: readonly string[]): string[] {
  return words
    .map((word) => ({ word, distance: word.startsWith(typed.slice(0, 2)) && typed.length >= 2 ? Math.min(distance(typed, word), 2) : distance(typed, word) }))
    .filter((c) => c.distance <= 2)
    .sort((a, b) => a.distance - b.distance || a.word.localeCompare(b.word))
    .slice(0, 3)
    .map((c) => c.word);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length]!;
}

// ---------------------------------------------------------------------------
// Parsing a whole command line.

export type Parsed =
  | {
      kind: 'command';
      command: Command;
      args: Args;
      /** The line with its command words resolved (no abbreviation), arguments as typed. */
      words: string[];
      /** Canonical words with secrets redacted, for the audit log. */
      audit: string;
    }
  /** A group (or partial path) without a command: show its USAGE. */
  | { kind: 'group'; node: TreeNode };

export function parse(root: TreeNode, words: readonly string[], visible: Visibility = everything): Parsed {
  if (words.length === 0) throw badInput('no-command', 'no command given; type "help" for the list');
  // A command that exists but is not granted is refused, not "unknown", nor
  // read as the arguments of a granted command above it (`firewall limits set`),
  // nor as an abbreviation of a granted one beside it (`network interface`, `network interfaces`).
  const refuseIfNotGranted = (node: TreeNode) => {
    if (!node.command || visible(node.command) || node.command.hidden) return;
    const only = node.command.adminOnly ? ': only an administrator may run it' : '';
    throw new PlatformError('not-permitted', `you have no right to run "${node.path.join(' ')}"${only}`, 1);
  };
  /** The words, walked over every command, reach further (or elsewhere) than over the granted ones: refuse that command if it is not granted. */
  const refuseIfWordsReachUngranted = (reached: number, reachedNode?: TreeNode) => {
    const full = safeWalk(root, words, everything);
    const elsewhere = full !== undefined && (full.consumed > reached || (full.consumed === reached && reachedNode !== undefined && full.node !== reachedNode));
    if (full && elsewhere) refuseIfNotGranted(full.node);
  };
  let found: Walk;
  try {
    found = walk(root, words, visible);
  } catch (error) {
    refuseIfWordsReachUngranted(0);
    throw error;
  }
  const { node, consumed } = found;
  refuseIfWordsReachUngranted(consumed, node);
  // A command whose group holds granted ones (`system upgrade` beside `system upgrade status`): the command itself is refused, typed alone or with its arguments.
  refuseIfNotGranted(node);
  if (!node.command || !visible(node.command)) {
    if (consumed < words.length) {
      const typed = words[consumed]!;
      throw badInput('unknown-command', `unknown command "${[...node.path, typed].join(' ')}"`);
    }
    return { kind: 'group', node };
  }
  const command = node.command;
  // A command carried inside this one (schedule add, cluster run) keeps its secrets hidden as it would typed alone.
  const hideCommand = (inner: readonly string[]) => redactWords(root, inner, (w) => redactSecrets(w, { word: true }));
  const { args, auditWords } = parseArgs(command, words.slice(consumed), hideCommand);
  return { kind: 'command', command, args, words: [...node.path, ...words.slice(consumed)], audit: [...node.path, ...auditWords].join(' ') };
}

function safeWalk(root: TreeNode, words: readonly string[], visible: Visibility): Walk | undefined {
  try {
    return walk(root, words, visible);
  } catch {
    return undefined;
  }
}

function parseArgs(command: Command, words: readonly string[], hideCommand: (words: readonly string[]) => string[]): { args: Args; auditWords: string[] } {
  const args: Args = {};
  const auditWords: string[] = [];
  const positionals: string[] = [];
  const options = command.options ?? [];
  const specs = command.args ?? [];
  const restTakesAll = specs.some((s) => s.rest);

  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const inRest = restTakesAll && positionals.length >= specs.length - 1;
    if (word.startsWith('--') && word.length > 2 && !inRest) {
      const [flagName, inlineValue] = word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      const option = options.find((o) => o.name === flagName) ?? uniquePrefix(options, flagName, command);
      if (option.flag) {
        args[option.name] = true;
        auditWords.push(`--${option.name}`);
        continue;
      }
      const value = inlineValue ?? words[++i];
      if (value === undefined) throw badInput('missing-value', `--${option.name} needs a value ${option.type.hint}`);
      args[option.name] = option.type.parse(value);
      auditWords.push(`--${option.name}`, option.type.redact ? option.type.redact(value) : value);
      continue;
    }
    positionals.push(word);
  }

  for (const option of options) {
    if (option.required && args[option.name] === undefined) {
      throw badInput('missing-option', `${command.words.join(' ')}: --${option.name} ${option.type.hint} is required`);
    }
  }

  let p = 0;
  for (const spec of specs) {
    if (spec.rest) {
      const rest = positionals.slice(p);
      if (rest.length === 0 && !spec.optional) throw missingArg(command, spec.type.hint);
      args[spec.name] = rest.map((w) => spec.type.parse(w));
      auditWords.push(...(spec.type.command ? hideCommand(rest) : rest.map((w) => (spec.type.redact ? spec.type.redact(w) : w))));
      p = positionals.length;
      break;
    }
    const word = positionals[p];
    if (word === undefined) {
      if (spec.optional) continue;
      throw missingArg(command, spec.type.hint);
    }
    args[spec.name] = spec.type.parse(word);
    auditWords.push(spec.type.redact ? spec.type.redact(word) : word);
    p++;
  }
  if (p < positionals.length) {
    throw badInput('extra-argument', `${command.words.join(' ')}: unexpected "${positionals[p]}"; usage: ${syntaxOf(command)}`);
  }
  return { args, auditWords };
}

/**
 * The words as typed, each secret argument hidden the way its type hides it
 * in the audit log, and every other word (command words, plain arguments,
 * words that do not parse) through `hideUnparsed`. Read leniently, as far as
 * the line goes, so that a line that fails still keeps no secret (the
 * console's history and echo).
 */
export function redactWords(root: TreeNode, words: readonly string[], hideUnparsed: (word: string) => string): string[] {
  const out = words.map(hideUnparsed);
  let node = root;
  let i = 0;
  for (; i < words.length && !words[i]!.startsWith('-'); i++) {
    const matches = matchWord(node, words[i]!, () => true);
    if (matches.length !== 1) break;
    node = matches[0]!;
  }
  const command = node.command;
  if (!command) return out;
  const options = command.options ?? [];
  const specs = command.args ?? [];
  const restTakesAll = specs.some((s) => s.rest);
  const hide = (type: ArgType, word: string) => (type.redact ? type.redact(word) : hideUnparsed(word));
  let positional = 0;
  for (; i < words.length; i++) {
    const word = words[i]!;
    const inRest = restTakesAll && positional >= specs.length - 1;
    if (word.startsWith('--') && word.length > 2 && !inRest) {
      const [flagName, inlineValue] = word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      const prefixed = options.filter((o) => o.name.startsWith(flagName));
      const option = options.find((o) => o.name === flagName) ?? (prefixed.length === 1 ? prefixed[0] : undefined);
      if (!option || option.flag) continue;
      if (inlineValue !== undefined) out[i] = `--${flagName}=${hide(option.type, inlineValue)}`;
      else if (++i < words.length) out[i] = hide(option.type, words[i]!);
      continue;
    }
    const spec = specs[positional] ?? specs.find((s) => s.rest);
    if (spec?.rest && spec.type.command) {
      out.splice(i, words.length - i, ...redactWords(root, words.slice(i), hideUnparsed));
      break;
    }
    if (spec) out[i] = hide(spec.type, word);
    positional++;
  }
  return out;
}

function uniquePrefix(options: readonly OptionSpec[], typed: string, command: Command): OptionSpec {
  const matches = options.filter((o) => o.name.startsWith(typed));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw badInput('ambiguous-option', `ambiguous option --${typed}: could be ${matches.map((m) => `--${m.name}`).join(', ')}`);
  throw badInput('unknown-option', `${command.words.join(' ')}: unknown option --${typed}; usage: ${syntaxOf(command)}`);
}

function missingArg(command: Command, hint: string) {
  return badInput('missing-argument', `${command.words.join(' ')}: missing ${hint}; usage: ${syntaxOf(command)}`);
}

/** `web weight add <server:port> <weight>` */
export function syntaxOf(command: Command): string {
  const parts: string[] = [...command.words];
  for (const spec of command.args ?? []) {
    const hint = spec.type.choices && !spec.type.complete ? spec.type.choices.join('|') : spec.type.hint;
    const shown = spec.rest ? `${hint}...` : hint;
    parts.push(spec.optional ? `[${shown}]` : shown);
  }
  for (const option of command.options ?? []) {
    const shown = option.flag ? `--${option.name}` : `--${option.name} ${option.type.hint}`;
    parts.push(option.required ? shown : `[${shown}]`);
  }
  return parts.join(' ');
}

// ---------------------------------------------------------------------------
// Help, USAGE and completion.

/** Every visible command under a node, as `USAGE:` pairs. */
export function usageOf(node: TreeNode, visible: Visibility = everything): [string, string][] {
  const out: [string, string][] = [];
  const visit = (n: TreeNode) => {
    if (n.command && visible(n.command)) out.push([syntaxOf(n.command), n.command.summary]);
    for (const c of n.children) visit(c);
  };
  visit(node);
  return out;
}

/** The top-level groups the caller may use, for the `help` menu. */
export function groupsOf(root: TreeNode, visible: Visibility = everything): [string, string][] {
  return visibleChildren(root, visible).map((n) => [n.word, n.summary]);
}

export interface Completion {
  /** The partial word being completed (empty after a space). */
  partial: string;
  /** Full words that may replace it. */
  candidates: string[];
}

export interface HelpEntry {
  word: string;
  summary: string;
}

/** Where the cursor stands in a line: the command so far and what may come next. */
function position(root: TreeNode, line: string, visible: Visibility) {
  const words = splitWords(line);
  const endsInSpace = line.length === 0 || /\s$/.test(line);
  const partial = endsInSpace ? '' : (words.pop() ?? '');
  const { node, consumed } = walk(root, words, visible);
  const argWords = words.slice(consumed);
  return { node, partial, argWords };
}

export async function complete(
  root: TreeNode,
  line: string,
  visible: Visibility = everything,
  ctx?: Context,
): Promise<Completion> {
  let at;
  try {
    at = position(root, line, visible);
  } catch {
    return { partial: '', candidates: [] };
  }
  const { node, partial, argWords } = at;
  let candidates: string[] = [];
  if (argWords.length === 0) candidates = visibleChildren(node, visible).map((c) => c.word);
  const spec = node.command && visible(node.command) ? nextArg(node.command, argWords) : undefined;
  if (spec) {
    candidates.push(...(spec.type.choices ?? []));
    if (spec.type.complete && ctx) candidates.push(...(await spec.type.complete(ctx, argWords)));
  }
  return { partial, candidates: [...new Set(candidates.filter((c) => c.startsWith(partial)))] };
}

/** The most existing values `?` lists for an argument. */
const EXISTING_SHOWN = 10;

/**
 * What `?` shows: the words and values that may come next, each with its
 * help; an argument with what it accepts (its range or choices) and, where
 * it completes from the node's state, the values that exist.
 */
export async function helpAt(root: TreeNode, line: string, visible: Visibility = everything, ctx?: Context): Promise<HelpEntry[]> {
  const { node, partial, argWords } = position(root, line, visible);
  const entries: HelpEntry[] = [];
  if (argWords.length === 0) {
    for (const c of visibleChildren(node, visible)) {
      if (c.word.startsWith(partial)) entries.push({ word: c.word, summary: c.summary || c.command?.summary || '' });
    }
  }
  if (node.command && visible(node.command)) {
    const spec = nextArg(node.command, argWords);
    if (spec) entries.push({ word: spec.type.choices?.join('|') ?? spec.type.hint, summary: await argumentHelp(spec, ctx, argWords) });
    for (const option of node.command.options ?? []) {
      entries.push({ word: `--${option.name}${option.flag ? '' : ` ${option.type.hint}`}`, summary: option.summary });
    }
    const required = (node.command.args ?? []).filter((s) => !s.optional && !s.rest).length;
    if (argWords.length >= required) entries.push({ word: '<Enter>', summary: `run "${syntaxOf(node.command)}"` });
  }
  return entries;
}

async function argumentHelp(spec: ArgSpec, ctx: Context | undefined, before: readonly string[]): Promise<string> {
  const parts = [spec.summary ?? spec.name];
  if (spec.type.accepts) parts[0] += `, ${spec.type.accepts}`;
  const { complete } = spec.type;
  // A source that cannot answer (a subsystem not running) lists nothing rather than failing `?`.
  const existing = complete && ctx ? await (async () => complete(ctx, before))().catch(() => []) : [];
  if (existing.length) {
    const more = existing.length > EXISTING_SHOWN ? ` (and ${existing.length - EXISTING_SHOWN} more)` : '';
    parts.push(`existing: ${existing.slice(0, EXISTING_SHOWN).join(', ')}${more}`);
  }
  return parts.join('; ');
}

function nextArg(command: Command, argWords: readonly string[]) {
  const specs = command.args ?? [];
  const positional = argWords.filter((w) => !w.startsWith('--')).length;
  return specs[positional] ?? specs.find((s) => s.rest);
}
