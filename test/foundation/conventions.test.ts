// What administrators expect of command-line tools: --version, --help, -h,
// help <words...>, bash completion from the console's own tree, and health's
// exit status for monitoring scripts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM, PLATFORMD, ROOT, runPlatform, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
  await node.platform(['system', 'setup', '--hostname', 'conv01', '--role', 'webproxy']);
});
afterAll(async () => {
  await node?.stop();
});

const run = (bin: string, args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: withoutCI() });

describe('--version and --help', () => {
  it('platform and platformd print their version and the runtime', () => {
    for (const [bin, name] of [[PLATFORM, 'platform'], [PLATFORMD, 'platformd']] as const) {
      const result = run(bin, ['--version']);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${name} ${version} (Node ${process.versions.node})\n`);
    }
  });

  it('platform --help and -h print the usage and the command groups, without the daemon', () => {
    for (const flag of ['--help', '-h']) {
      const result = run(PLATFORM, ['--home', '/nonexistent/platform-home', flag]);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^usage: platform \[--home DIR\]/);
      expect(result.stdout).toContain('platform help [command words...]');
      expect(result.stdout).toMatch(/firewall - dynamic firewall/);
      expect(result.stdout).toMatch(/web - web server management/);
    }
  });

  it('platformd --help prints its usage', () => {
    const result = run(PLATFORMD, ['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: platformd \[--home DIR\]/);
    expect(result.stdout).toContain('--version');
  });
});

describe('help <words...>', () => {
  it('shows the USAGE of a group, abbreviations allowed', async () => {
    const result = await node.platform(['help', 'we', 'cert']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^USAGE:/);
    expect(result.stdout).toMatch(/^web cert add <filename>\s+- Install the certificate/m);
    expect(result.stdout).not.toContain('web weight');
  });

  it('shows the USAGE of one command, as JSON too', async () => {
    const result = await node.platform(['--json', 'help', 'firewall', 'explain']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { syntax: 'firewall explain <source-address> <port>[/tcp|udp]', summary: expect.stringContaining('allowed or dropped') },
      { syntax: 'firewall explain out <host> <port>[/tcp|udp]', summary: expect.stringContaining('configured destination') },
    ]);
  });

  it('refuses words that name nothing, with exit status 2', async () => {
    const result = await node.platform(['help', 'web', 'nosuch']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown command "web nosuch"');
  });
});

describe('bash completion', () => {
  /** Runs the completion function in a real bash as bash would for the words typed (the last one under the cursor). */
  function completeInBash(home: string, words: string[]): { registered: string; candidates: string[] } {
    const dir = tempHome('ps-bash-');
    const script = join(dir, 'platform.bash');
    const generated = run(PLATFORM, ['--home', home, 'completion', 'bash']);
    expect(generated.status).toBe(0);
    writeFileSync(script, generated.stdout);
    // The program bash calls back: this checkout's console on this node.
    const wrapper = join(dir, 'platform');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} ${PLATFORM} --home ${home} "$@"\n`, { mode: 0o755 });
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const bash = spawnSync(
      'bash',
      ['-c', `source ${script}; complete -p platform; COMP_WORDS=(${wrapper} ${quoted}); COMP_CWORD=${words.length}; COMP_LINE="platform ${words.join(' ')}"; COMP_POINT=\${#COMP_LINE}; _platform; printf '%s\\n' "\${COMPREPLY[@]}"`],
      { encoding: 'utf8', env: withoutCI() },
    );
    expect(bash.status).toBe(0);
    const [registered = '', ...candidates] = bash.stdout.trim().split('\n');
    return { registered, candidates: candidates.filter(Boolean) };
  }

  it('registers a completion function and completes from the console tree', async () => {
    const first = completeInBash(node.home, ['sys']);
    expect(first.registered).toBe('complete -F _platform platform');
    expect(first.candidates).toEqual(['system']);

    const next = completeInBash(node.home, ['web', 'cert', '']);
    expect(next.candidates).toEqual(expect.arrayContaining(['add', 'del', 'details', 'gen_csr', 'gen_selfsigned', 'print_csr']));

    // The same candidates as Tab in the console (the daemon's `complete`).
    const consoleTab = await node.platform(['--complete', '--', 'firewall', 'l']);
    expect(completeInBash(node.home, ['firewall', 'l']).candidates).toEqual(consoleTab.stdout.trim().split('\n'));

    // Argument values too (fixed choices of `web tls minimum`).
    expect(completeInBash(node.home, ['web', 'tls', 'minimum', '']).candidates).toEqual(['1.2', '1.3']);
  });

  it('still completes command words when the daemon is down', () => {
    expect(completeInBash('/nonexistent/platform-home', ['fire']).candidates).toEqual(['firewall']);
  });
});

describe('health for monitoring scripts', () => {
  it('exits 1 while the banner warns and 0 when it does not, with the warnings as data', async () => {
    const start = await node.platform(['--yes', 'system', 'maintenance-mode', 'start']);
    expect(start.status).toBe(0);
    const warned = await node.platform(['--json', 'health']);
    expect(warned.status).toBe(1);
    const data = JSON.parse(warned.stdout);
    expect(data.warnings).toContain('SYSTEM IN MAINTENANCE MODE');
    expect(data.maintenance).toBe(true);
    expect((await node.platform(['health'])).status).toBe(1);

    await node.platform(['--yes', 'system', 'maintenance-mode', 'stop']);
    const after = await node.platform(['--json', 'health']);
    const warnings: string[] = JSON.parse(after.stdout).warnings;
    expect(warnings).not.toContain('SYSTEM IN MAINTENANCE MODE');
    expect(after.status).toBe(warnings.length > 0 ? 1 : 0);
  });

  it('exits 3 when the daemon is down', async () => {
    const result = await runPlatform('/nonexistent/platform-home', ['health']);
    expect(result.status).toBe(3);
    expect(result.stdout).toContain('PLATFORMD NOT RUNNING');
  });
});
