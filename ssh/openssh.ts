// The OpenSSH server of an appliance, as the product configures it: an sshd
// drop-in for console users and the PAM service sshd authenticates them
// with. Both are generated from the node's paths and ssh/policy.ts, checked
// (`sshd -t`), and written atomically; sshd reloads when its part changed.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { writeFileInside } from '../os/files.js';
import { failure } from '../core/errors.js';
import { shown, type SkippedValue } from '../core/skipped.js';
import { osRoot } from '../os/host.js';
import type { Paths } from '../core/paths.js';
import { consoleGroupName, faillockDir } from './accounts.js';
import { LOCKOUT_POLICY, PASSWORD_POLICY } from './policy.js';
import { SFTP_SERVER } from './sftp.js';
import { bannerFile } from './login.js';

/** Where the console users' authorized keys live (one file per user, named by sshd's %u). */
export const authorizedKeysDir = (etc: string) => join(etc, 'authorized_keys');

export const SSHD_DROP_IN = 'etc/ssh/sshd_config.d/platform.conf';
export const SSHD_MAIN = 'etc/ssh/sshd_config';
export const PAM_SERVICE = 'etc/pam.d/sshd';

export interface SshdLayout {
  group: string;
  bannerFile: string;
  authorizedKeysDir: string;
  faillockDir: string;
}

export const sshdLayout = (paths: Paths): SshdLayout => ({
  group: consoleGroupName(),
  bannerFile: bannerFile(paths),
  authorizedKeysDir: authorizedKeysDir(paths.etc),
  faillockDir: faillockDir(paths),
});

/**
 * What each value written into sshd's drop-in or PAM's service must be.
 * They come from the daemon's home (--home), the console group's name
 * (PLATFORM_CONSOLE_GROUP) and constants, and are checked again as they are
 * written: a space, a newline or sshd's `%` would add a setting of its own.
 */
const SSH_GRAMMAR = {
  path: { test: (v: string) => /^\/[A-Za-z0-9._+/-]{1,255}$/.test(v) && !v.split('/').includes('..'), says: 'not an absolute path of letters, digits, ".", "_", "+", "-" and "/"' },
  group: { test: (v: string) => /^[a-z_][a-z0-9_-]{0,31}$/.test(v), says: 'not a group name (lower-case letters, digits, "_" and "-", 32 at most)' },
} as const;

/** A value of the layout, or undefined (and recorded as skipped) when it breaks its grammar. */
function checked(skipped: SkippedValue[], what: string, kind: keyof typeof SSH_GRAMMAR, value: unknown): string | undefined {
  if (typeof value === 'string' && SSH_GRAMMAR[kind].test(value)) return value;
  skipped.push({ what, value: shown(value), why: SSH_GRAMMAR[kind].says });
  return undefined;
}

/**
 * The drop-in. Debian's sshd_config includes sshd_config.d first, and sshd
 * keeps the first value it reads, so these settings win. A value that fails
 * its check is left out on the safe side: no extra keys folder, no banner,
 * no sftp subsystem, and the console users' restrictions for everyone.
 */
export function sshdDropIn(layout: SshdLayout): { text: string; skipped: SkippedValue[] } {
  const skipped: SkippedValue[] = [];
  const keysDir = checked(skipped, 'AuthorizedKeysFile folder', 'path', layout.authorizedKeysDir);
  const banner = checked(skipped, 'Banner path', 'path', layout.bannerFile);
  const sftp = checked(skipped, 'sftp subsystem path', 'path', SFTP_SERVER);
  const group = checked(skipped, 'console group', 'group', layout.group);
  const text = `# Written by platformd (ssh/openssh.ts): changes here are overwritten.
PermitRootLogin no
# Keys an administrator added with "user addkey", or the user's own.
AuthorizedKeysFile .ssh/authorized_keys${keysDir ? ` ${keysDir}/%u` : ''}
# Passwords go through PAM's conversation (keyboard-interactive), which
# locks an account after failed logins and makes a first password change.
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PermitEmptyPasswords no
LoginGraceTime 60
${banner ? `Banner ${banner}\n` : ''}PrintMotd no
ClientAliveInterval 300
ClientAliveCountMax 2
# sshd runs this through the login shell, the console, which serves it in
# a sandbox holding only media/ (never internal-sftp: that would bypass it).
${sftp ? `Subsystem sftp ${sftp}\n` : ''}
# Console users: the console and files in media, nothing else.
${group ? `Match Group ${group}` : 'Match all'}
    AllowTcpForwarding no
    AllowStreamLocalForwarding no
    AllowAgentForwarding no
    X11Forwarding no
    PermitTunnel no
    PermitUserRC no
`;
  return { text, skipped };
}

/**
 * The PAM service. Authentication is spelled out (Debian's common-auth ends
 * in pam_deny, which would hide failures from pam_faillock); accounts and
 * sessions are Debian's own. A faillock folder that fails its check is left
 * out: pam_faillock keeps its records in its own default folder.
 */
export function pamService(layout: Pick<SshdLayout, 'faillockDir'>): { text: string; skipped: SkippedValue[] } {
  const skipped: SkippedValue[] = [];
  const dir = checked(skipped, 'pam_faillock folder', 'path', layout.faillockDir);
  const faillock = `${dir ? `dir=${dir} ` : ''}deny=${LOCKOUT_POLICY.attempts} fail_interval=${LOCKOUT_POLICY.withinMinutes * 60} unlock_time=${LOCKOUT_POLICY.lockMinutes * 60}`;
  const quality = [`minlen=${PASSWORD_POLICY.minLength}`, ...PASSWORD_POLICY.classes.map((c) => c.pwquality)].join(' ');
  const text = `# Written by platformd (ssh/openssh.ts): changes here are overwritten.
# A locked account is refused before its password is checked.
auth      requisite                    pam_faillock.so preauth ${faillock}
auth      [success=1 default=bad]      pam_unix.so
auth      [default=die]                pam_faillock.so authfail ${faillock}
auth      sufficient                   pam_faillock.so authsucc ${faillock}
auth      required                     pam_deny.so

account   required                     pam_nologin.so
@include common-account

# New passwords (the first login's change) follow the product's policy; sshd
# changes them as root, so the policy holds for root too.
password  requisite                    pam_pwquality.so retry=3 ${quality} enforce_for_root
password  required                     pam_unix.so use_authtok yescrypt

session   required                     pam_loginuid.so
session   optional                     pam_keyinit.so force revoke
@include common-session
session   required                     pam_limits.so
`;
  return { text, skipped };
}

/** Debian's own sshd_config defines the sftp subsystem too; sshd refuses two. */
const SUBSYSTEM_LINE = /^(\s*Subsystem\s+sftp\s.*)$/im;

/**
 * Checks the drop-in with `sshd -t` on its own, with a throwaway host key.
 * Synchronous on purpose: it runs in `platformd --install-ssh` and at daemon
 * start before the socket serves anyone, never while a command waits.
 */
function checkDropIn(text: string): void {
  // sshd -t insists on its privilege separation folder, which ssh.service makes at start.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'platform-sshd-check-'));
  try {
    const key = join(dir, 'host_key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    writeFileSync(join(dir, 'platform.conf'), text);
    writeFileSync(join(dir, 'sshd_config'), `HostKey ${key}\nInclude ${join(dir, 'platform.conf')}\n`);
    const result = spawnSync('/usr/sbin/sshd', ['-t', '-f', join(dir, 'sshd_config')], { encoding: 'utf8' });
    if (result.status !== 0) throw failure('sshd-config-invalid', `sshd refuses the generated configuration: ${(result.stderr || result.error?.message || '').trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeAtomically(path: string, content: string): boolean {
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileInside(dirname(path), basename(path), content, 0o644);
  return true;
}

export interface SshInstall {
  /** The files written (those already right are left alone). */
  written: string[];
  /** Whether sshd was asked to reload. */
  reloaded: boolean;
  /** Values left out of the files (they broke their grammar). */
  skipped: SkippedValue[];
}

/** Writes sshd's drop-in and PAM service under an OS root (default /), then reloads sshd if its part changed. */
export function installOpenSsh(paths: Paths, root = osRoot()): SshInstall {
  const layout = sshdLayout(paths);
  const { text: dropIn, skipped } = sshdDropIn(layout);
  const pam = pamService(layout);
  skipped.push(...pam.skipped);
  const dropInPath = join(root, SSHD_DROP_IN);
  if (!existsSync(dropInPath) || readFileSync(dropInPath, 'utf8') !== dropIn) checkDropIn(dropIn);
  const written: string[] = [];
  const main = join(root, SSHD_MAIN);
  if (existsSync(main)) {
    const text = readFileSync(main, 'utf8');
    const without = text.replace(SUBSYSTEM_LINE, '# $1  (defined in sshd_config.d/platform.conf)');
    if (without !== text && writeAtomically(main, without)) written.push(main);
  }
  if (writeAtomically(dropInPath, dropIn)) written.push(dropInPath);
  if (writeAtomically(join(root, PAM_SERVICE), pam.text)) written.push(join(root, PAM_SERVICE));
  mkdirSync(layout.faillockDir, { recursive: true, mode: 0o700 });
  // PAM reads its service at every login; sshd reads its configuration at start and on reload.
  const sshdChanged = written.some((file) => !file.endsWith(PAM_SERVICE));
  const reloaded = sshdChanged && root === '/' && existsSync('/run/systemd/system') && spawnSync('systemctl', ['reload-or-restart', 'ssh.service']).status === 0;
  return { written, reloaded, skipped };
}
