// One JSON shape: walks the WHOLE command tree, runs every command with
// `--json` against a real platformd, and checks what it prints against the
// shape declared next to the command (core/json-shape.ts: camelCase keys,
// arrays for lists, null for absent values, booleans, ISO 8601 times).
// A command added to the tree without a shape, or without a sample here, fails.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groups } from '../../commands/index.js';
import { buildTree, type TreeNode } from '../../commands/tree.js';
import { errorShape, shapeProblems } from '../../core/json-shape.js';
import type { Command } from '../../core/command.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

/**
 * How each command is run here, in order (later ones may rely on earlier
 * ones). `fails`: the invocation cannot succeed on one daemon without peers,
 * servers or a person at a terminal; its error JSON is checked instead.
 */
const SAMPLES: { words: string[]; fails?: true }[] = [
  { words: ['system', 'setup', '--hostname', 'walk01', '--role', 'unified,webproxy', '--ntp', 'ntp.example.test', '--data-centre', 'dc1'] },
  { words: ['system', 'info'] },
  { words: ['system', 'maintenance-mode', 'start'] },
  { words: ['system', 'maintenance-mode', 'status'] },
  { words: ['system', 'maintenance-mode', 'stop'] },
  { words: ['system', 'ssh_session_limit'] },
  { words: ['system', 'ssh_session_limit', 'set', '12'] },
  { words: ['system', 'banner', 'add', 'banner.txt'] },
  { words: ['system', 'banner', 'read'] },
  { words: ['system', 'banner', 'remove'] },
  { words: ['system', 'password'], fails: true },
  // Only on an appliance (the image test reboots and powers off a booted node).
  { words: ['system', 'reboot'], fails: true },
  { words: ['system', 'shutdown'], fails: true },
  // A checkout's daemon runs no installed release: releases are walked in test/releases and test/hardening/release-files.
  { words: ['system', 'upgrade', 'status'] },
  { words: ['system', 'upgrade', 'file:///nonexistent/platform-9.9.9.psup'], fails: true },
  { words: ['system', 'rollback'], fails: true },
  { words: ['system', 'release', 'verify'], fails: true },
  { words: ['system', 'release-key', 'list'], fails: true },
  { words: ['system', 'release-key', 'add', 'key.pem'], fails: true },
  { words: ['system', 'release-key', 'del', '0123456789abcdef'], fails: true },
  { words: ['app', 'list'] },
  { words: ['app', 'status'] },
  { words: ['app', 'start', 'nosuchapp'], fails: true },
  { words: ['app', 'stop', 'nosuchapp'], fails: true },
  { words: ['firewall', 'status'] },
  { words: ['firewall', 'show'] },
  { words: ['firewall', 'rules'] },
  { words: ['firewall', 'explain', '10.9.8.7', '22'] },
  { words: ['firewall', 'drift'] },
  { words: ['firewall', 'explain', 'out', 'backup.example.net', '22'] },
  { words: ['firewall', 'egress'] },
  { words: ['firewall', 'egress', 'strict'] },
  { words: ['firewall', 'egress', 'open'] },
  { words: ['firewall', 'limits'] },
  { words: ['firewall', 'limits', 'set', 'pingPerSecond', '7'] },
  // Plan mode (this daemon's): a change is saved into the plan with nothing to confirm or roll back.
  { words: ['firewall', 'confirm'], fails: true },
  { words: ['firewall', 'allow', '10.1.0.0/24'] },
  { words: ['firewall', 'rollback'], fails: true },
  { words: ['firewall', 'deny', '10.1.0.0/24'] },
  { words: ['web', 'cert', 'details'] },
  { words: ['web', 'cert', 'details', 'edit', '--commonName', 'walk01.example.test', '--country', 'ZA'] },
  { words: ['web', 'cert', 'gen_csr'] },
  { words: ['web', 'cert', 'print_csr'] },
  { words: ['web', 'cert', 'add', 'nosuch.pem'], fails: true },
  { words: ['web', 'cert', 'gen_selfsigned'] },
  { words: ['web', 'cert', 'del'] },
  { words: ['web', 'sslv3'] },
  { words: ['web', 'tls', 'minimum'] },
  { words: ['web', 'tls', 'minimum', '1.2'] },
  { words: ['web', 'weight', 'add', '10.0.0.5:8080', '5'] },
  { words: ['web', 'weight', 'list'] },
  { words: ['web', 'weight', 'del', '10.0.0.5:8080'] },
  { words: ['web', 'service', 'list'] },
  { words: ['web', 'service', 'disable', 'selfservice'] },
  { words: ['web', 'service', 'enable', 'selfservice'] },
  // The walk's node is unified,webproxy: refused (test/web/prepnode.test.ts runs it on a web proxy).
  { words: ['web', 'cluster', 'prepnode'], fails: true },
  { words: ['network', 'interfaces'] },
  { words: ['network', 'routes'] },
  // Static networking's changes: test/net/static-network.test.ts makes them on interfaces of its own namespace.
  { words: ['network', 'interface', 'nosuch0', 'static', '192.0.2.7/24'], fails: true },
  { words: ['network', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.1'], fails: true },
  { words: ['network', 'route', 'del', '198.51.100.0/24'], fails: true },
  { words: ['network', 'plan'] },
  { words: ['network', 'confirm'], fails: true },
  { words: ['network', 'rollback'], fails: true },
  { words: ['network', 'hostname'] },
  { words: ['network', 'hostname', 'walk02'] },
  { words: ['network', 'domain'] },
  { words: ['network', 'domain', 'example.test'] },
  { words: ['network', 'dns'] },
  { words: ['network', 'dns', 'add', '10.0.0.53'] },
  { words: ['network', 'dns', 'del', '10.0.0.53'] },
  { words: ['network', 'ntp'] },
  { words: ['network', 'ntp', 'add', 'ntp2.example.test'] },
  { words: ['network', 'ntp', 'del', 'ntp2.example.test'] },
  { words: ['network', 'proxy'] },
  { words: ['network', 'proxy', 'http://127.0.0.1:3128'] },
  { words: ['network', 'proxy', 'socks5://joe:pw@127.0.0.1'] },
  { words: ['network', 'proxy', 'bypass', 'add', '.example.test'] },
  { words: ['network', 'proxy', 'bypass'] },
  { words: ['network', 'proxy', 'bypass', 'del', '.example.test'] },
  { words: ['network', 'proxy', 'del'] },
  { words: ['network', 'requirements'] },
  { words: ['network', 'requirements', '--format', 'json'] },
  { words: ['network', 'requirements', '--format', 'csv'] },
  { words: ['backup', 'add', 'offsite', 'sftp://backup@10.0.0.9/srv/backups'] },
  { words: ['backup', 'list'] },
  { words: ['backup', 'create', 'offsite'], fails: true },
  { words: ['backup', 'key', 'generate'] },
  { words: ['backup', 'key', 'show'] },
  // Printed only to a person at a terminal (the walk is not one): test/backup/key-export.test.ts checks its JSON.
  { words: ['backup', 'key', 'export'], fails: true },
  { words: ['backup', 'key', 'import', 'psbk1-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'] },
  // Refused: a file:// location's folder must exist (so the next three fail on no such location, and del too).
  { words: ['backup', 'add', 'here', 'file:///nonexistent-walk-folder'], fails: true },
  { words: ['backup', 'verify', 'here'], fails: true },
  { words: ['backup', 'restore', 'here'], fails: true },
  { words: ['backup', 'clean', 'here', 'keep', '2'], fails: true },
  { words: ['backup', 'del', 'here'], fails: true },
  { words: ['backup', 'del', 'offsite'] },
  { words: ['schedule', 'add', 'walkjob', 'system', 'info'] },
  { words: ['schedule', 'time', 'walkjob', 'every', '2', 'hours'] },
  { words: ['schedule', 'disable', 'walkjob'] },
  { words: ['schedule', 'enable', 'walkjob'] },
  { words: ['schedule', 'list'] },
  { words: ['schedule', 'run', 'walkjob'] },
  { words: ['schedule', 'log', 'walkjob'] },
  { words: ['schedule', 'del', 'walkjob'] },
  { words: ['system', 'health_monitoring', 'threshold', 'load', '100'] },
  { words: ['system', 'health_monitoring', 'enable', '10'] },
  { words: ['system', 'health_monitoring', 'disable'] },
  { words: ['notify', 'add', 'warn', 'mailto:ops@example.test'] },
  { words: ['notify', 'list'] },
  { words: ['notify', 'emailrelay', 'smtp.example.test'] },
  { words: ['notify', 'del', 'warn', 'mailto:ops@example.test'] },
  { words: ['diag', 'health'] },
  { words: ['diag', 'uri', 'sftp://backup@10.0.0.9/srv/backups'] },
  { words: ['diag', 'uri', 'https://127.0.0.1:1/', 'test'] },
  { words: ['diag', 'dns', 'walk.example.test', '127.0.0.1', '1'] },
  { words: ['diag', 'ping', '127.0.0.1'] },
  { words: ['diag', 'traceroute', '127.0.0.1'] },
  { words: ['diag', 'connectivity'] },
  { words: ['diag', 'ports'] },
  { words: ['diag', 'subnet'] },
  { words: ['diag', 'bundle'] },
  { words: ['cluster', 'prepnode'] },
  { words: ['cluster', 'add', '10.250.99.2', '3FA2C-91B0D'], fails: true },
  { words: ['cluster', 'del', '10.250.99.2'], fails: true },
  { words: ['cluster', 'list'] },
  { words: ['cluster', 'status'] },
  { words: ['cluster', 'provision'], fails: true },
  { words: ['cluster', 'run', 'all', 'system', 'info'], fails: true },
  { words: ['cluster', 'check'], fails: true },
  // A node in no cluster: refused (test/cluster/maintenance.test.ts checks their answers on a real cluster).
  { words: ['cluster', 'maintenance-mode', 'start'], fails: true },
  { words: ['cluster', 'maintenance-mode', 'status'], fails: true },
  { words: ['cluster', 'maintenance-mode', 'stop'], fails: true },
  // In no cluster: refused; a whole run is walked in test/cluster/upgrade.test.ts.
  { words: ['cluster', 'upgrade', 'file:///nonexistent/platform-9.9.9.psup'], fails: true },
  { words: ['cluster', 'upgrade', 'status'] },
  { words: ['log', 'audit', '--limit', '5'] },
  { words: ['user', 'add', 'walker'] },
  { words: ['user', 'list'] },
  { words: ['user', 'grant', 'walker', 'web', 'cert'] },
  { words: ['user', 'revoke', 'walker', 'web', 'cert'] },
  { words: ['user', 'password', 'walker'], fails: true },
  { words: ['user', 'unlock', 'walker'] },
  { words: ['user', 'addkey', 'walker', 'admin.pub'] },
  { words: ['user', 'del', 'walker'] },
  { words: ['keys', 'create'] },
  { words: ['keys', 'list'] },
  { words: ['keys', 'add', '127.0.0.1', '1'], fails: true },
  { words: ['keys', 'del', '127.0.0.1', '1'], fails: true },
  { words: ['keys', 'send', 'backup@127.0.0.1', '1'], fails: true },
  { words: ['completion', 'bash'] },
  { words: ['help'] },
  { words: ['help', 'web', 'cert'] },
  { words: ['health'] },
  { words: ['notify', 'test', 'info'], fails: true },
  { words: ['mail', 'list'] },
  { words: ['mail', 'read', '999'], fails: true },
  { words: ['mail', 'del', 'all'] },
  { words: ['snmp', 'status'] },
  { words: ['snmp', 'location', 'Rack', '1'] },
  { words: ['snmp', 'contact', 'noc@example.test'] },
  { words: ['snmp', 'community', 'list'] },
  { words: ['snmp', 'community', 'add', 'bad!name'], fails: true },
  { words: ['snmp', 'community', 'del', 'nosuch'], fails: true },
  { words: ['snmp', 'user', 'list'] },
  { words: ['snmp', 'user', 'add', 'walkuser', 'SHA', 'AES'], fails: true },
  { words: ['snmp', 'user', 'del', 'nosuch'], fails: true },
  { words: ['log', 'list'] },
  { words: ['log', 'view', 'audit'] },
  { words: ['log', 'follow', 'audit'], fails: true },
  { words: ['log', 'send', 'nowhere'], fails: true },
  { words: ['log', 'retention'] },
  { words: ['security', 'source'] },
  { words: ['security', 'source', 'file:///srv/no-repository', 'key', 'no-key.asc'], fails: true },
  { words: ['security', 'source', 'del'] },
  { words: ['security', 'check'], fails: true },
  { words: ['security', 'update'], fails: true },
];

function commandsOf(node: TreeNode): Command[] {
  return [...(node.command && !node.command.hidden ? [node.command] : []), ...node.children.flatMap(commandsOf)];
}
const all = commandsOf(buildTree(groups));
const key = (words: readonly string[]) => words.join(' ');
const commandFor = (words: string[]) => all.filter((c) => c.words.every((w, i) => words[i] === w)).sort((a, b) => b.words.length - a.words.length)[0];

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
  writeFileSync(join(node.home, 'media', 'banner.txt'), 'Authorised use only.\n');
  writeFileSync(join(node.home, 'media', 'admin.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@example\n');
});
afterAll(async () => {
  await node?.stop();
});

describe('the JSON of every command', () => {
  it('declares a shape and a sample for every command of the tree', () => {
    expect(all.length).toBeGreaterThan(60);
    expect(all.filter((c) => !c.json).map((c) => key(c.words))).toEqual([]);
    const sampled = new Set(SAMPLES.map((s) => commandFor(s.words)).filter(Boolean).map((c) => key(c!.words)));
    expect(all.map((c) => key(c.words)).filter((k) => !sampled.has(k))).toEqual([]);
  });

  it('prints what each command declares', async () => {
    const problems: string[] = [];
    for (const sample of SAMPLES) {
      const command = commandFor(sample.words)!;
      const result = await node.platform(['--json', '--yes', ...sample.words]);
      let printed: unknown;
      try {
        printed = JSON.parse(result.stdout);
      } catch {
        problems.push(`${key(sample.words)}: not JSON (exit ${result.status}): ${result.stdout.slice(0, 200)} ${result.stderr.slice(0, 200)}`);
        continue;
      }
      const isError = printed !== null && typeof printed === 'object' && 'error' in printed;
      if (isError !== Boolean(sample.fails)) {
        problems.push(`${key(sample.words)}: ${isError ? `failed: ${result.stderr.trim()}` : 'succeeded, but the sample expects an error'}`);
      }
      const found = shapeProblems(isError ? errorShape : command.json!, printed);
      problems.push(...found.map((p) => `${key(sample.words)}: ${p}`));
    }
    expect(problems).toEqual([]);
  }, 600_000);
});
