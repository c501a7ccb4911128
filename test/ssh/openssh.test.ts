// The pieces of the SSH set-up that need no server: the generated sshd
// drop-in and PAM service (checked by sshd itself), reading pam_faillock's
// records, and turning sftp-server's log into audit events.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loginFailures } from '../../ssh/accounts.js';
import { installOpenSsh, PAM_SERVICE, SSHD_DROP_IN, SSHD_MAIN } from '../../ssh/openssh.js';
import { LOCKOUT_POLICY, passwordProblems } from '../../ssh/policy.js';
import { TransferLog, sandboxArgs, sharedLibraries, SFTP_SERVER, type TransferEvent } from '../../ssh/sftp.js';
import { pathsFor } from '../../core/paths.js';
import { tempHome } from '../support/daemon.js';

describe('installing OpenSSH’s configuration', () => {
  it('writes a drop-in sshd accepts and a PAM service with the lockout and password policy, once', () => {
    const root = tempHome('ps-osroot-');
    const paths = pathsFor(tempHome());
    mkdirSync(join(root, 'etc', 'ssh'), { recursive: true });
    writeFileSync(join(root, SSHD_MAIN), 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n');

    const first = installOpenSsh(paths, root);
    expect(first.written.sort()).toEqual([SSHD_DROP_IN, SSHD_MAIN, PAM_SERVICE].map((f) => join(root, f)).sort());
    expect(first.reloaded).toBe(false); // not the real root
    // Debian's own definition of the sftp subsystem gives way to the drop-in's (sshd refuses two).
    expect(readFileSync(join(root, SSHD_MAIN), 'utf8')).toMatch(/^# Subsystem\tsftp\t\/usr\/lib\/openssh\/sftp-server {2}\(defined in sshd_config\.d\/platform\.conf\)$/m);
    const dropIn = readFileSync(join(root, SSHD_DROP_IN), 'utf8');
    expect(dropIn).toContain(`Banner ${join(paths.etc, 'sshd-banner')}`);
    expect(dropIn).toContain(`AuthorizedKeysFile .ssh/authorized_keys ${join(paths.etc, 'authorized_keys')}/%u`);
    expect(dropIn).toContain(`Subsystem sftp ${SFTP_SERVER}`);
    expect(dropIn).not.toMatch(/^\s*Subsystem.*internal-sftp/m);
    const pam = readFileSync(join(root, PAM_SERVICE), 'utf8');
    expect(pam).toContain(`pam_faillock.so preauth dir=${join(paths.run, 'faillock')} deny=${LOCKOUT_POLICY.attempts} fail_interval=${LOCKOUT_POLICY.withinMinutes * 60}`);
    expect(pam).toMatch(/pam_pwquality\.so retry=3 minlen=8 ucredit=-1 lcredit=-1 dcredit=-1 ocredit=-1 enforce_for_root/);
    expect(existsSync(join(paths.run, 'faillock'))).toBe(true);

    expect(installOpenSsh(paths, root).written).toEqual([]);
  });
});

describe('failed logins', () => {
  /** pam_faillock's record: source[52], reserved, status, time. */
  const record = (source: string, at: Date, status = 0x3) => {
    const buffer = Buffer.alloc(64);
    buffer.write(source, 0);
    buffer.writeUInt16LE(status, 54);
    buffer.writeBigUInt64LE(BigInt(Math.floor(at.getTime() / 1000)), 56);
    return buffer;
  };
  const now = new Date('2026-11-26T12:00:00Z');
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

  it('locks after the policy’s number of recent failures, until the lock time has passed since the last', () => {
    const dir = tempHome('ps-faillock-');
    writeFileSync(join(dir, 'joe'), Buffer.concat([record('10.0.0.9', minutesAgo(60)), ...[5, 4, 3, 2, 1].map((m) => record('10.0.0.7', minutesAgo(m)))]));
    const locked = loginFailures(dir, 'joe', now);
    expect(locked.recent).toHaveLength(5); // the one an hour ago no longer counts
    expect(locked.recent.at(-1)).toEqual({ at: minutesAgo(1), from: '10.0.0.7' });
    expect(locked.lockedUntil).toEqual(new Date(minutesAgo(1).getTime() + LOCKOUT_POLICY.lockMinutes * 60_000));
    expect(loginFailures(dir, 'joe', new Date(now.getTime() + LOCKOUT_POLICY.lockMinutes * 60_000)).lockedUntil).toBeUndefined();
  });

  it('counts valid records only, and nothing for a user without records', () => {
    const dir = tempHome('ps-faillock-');
    writeFileSync(join(dir, 'ann'), Buffer.concat([1, 2, 3, 4].map((m) => record('tty1', minutesAgo(m))).concat(record('10.0.0.1', minutesAgo(1), 0x2))));
    expect(loginFailures(dir, 'ann', now)).toEqual({ recent: [4, 3, 2, 1].map((m) => ({ at: minutesAgo(m), from: 'tty1' })) });
    expect(loginFailures(dir, 'nobody-here', now)).toEqual({ recent: [] });
  });

  it('holds passwords to the policy', () => {
    expect(passwordProblems('short')).toEqual(['at least 8 characters', 'an upper-case letter', 'a digit', 'a symbol']);
    expect(passwordProblems('Longer-Pa55')).toEqual([]);
  });
});

describe('the sftp sandbox', () => {
  it('binds the server, its libraries, /dev/null, the account folder and media, and nothing else', () => {
    const libraries = sharedLibraries(SFTP_SERVER);
    expect(libraries.some((l) => /libc\.so/.test(l))).toBe(true);
    const args = sandboxArgs({ media: '/srv/node/media', libraries, etc: '/tmp/platform-sftp-x' });
    const binds = [...args.join(' ').matchAll(/--(?:ro-|dev-)?bind (\S+) (\S+)/g)].map((m) => m[2]);
    expect(binds.sort()).toEqual([SFTP_SERVER, ...libraries, '/dev/null', '/etc', '/media'].sort());
    expect(args).toContain('--unshare-all');
    expect(args.join(' ')).toContain('--remount-ro /');
    expect(args.join(' ')).toContain('-P symlink,hardlink');
  });

  it('turns the server’s log into one audit event per operation', () => {
    const events: TransferEvent[] = [];
    const log = new TransferLog((e) => events.push(e));
    const lines = [
      'received client version 3',
      'Refusing denylisted hardlink request', // listing its extensions, not a request
      'realpath "."',
      'open "/media/cert.pem" flags WRITE,CREATE,TRUNCATE mode 0644',
      'close "/media/cert.pem" bytes read 0 written 1834',
      'open "/media/cert.pem" flags READ mode 0666',
      'close "/media/cert.pem" bytes read 1834 written 0',
      'open "/../escaped.pem" flags WRITE,CREATE,TRUNCATE mode 0644',
      'sent status Failure',
      'Refusing denylisted symlink request',
      'sent status Permission denied',
      'remove name "/media/old.pem"',
      'mkdir name "/media/new" mode 0777',
      'sent status Failure',
      'posix-rename old "/media/a" new "/media/b"',
      'lstat name "/etc/shadow"',
      'sent status No such file',
      'open "/media/big.iso" flags WRITE,CREATE,TRUNCATE mode 0644',
    ];
    for (const line of lines) log.line(line);
    log.end();
    expect(events).toEqual([
      { words: 'sftp put media/cert.pem', outcome: 'ok', message: '1834 bytes' },
      { words: 'sftp get media/cert.pem', outcome: 'ok', message: '1834 bytes' },
      { words: 'sftp put ../escaped.pem', outcome: 'refused', message: 'outside media (Failure)' },
      { words: 'sftp symlink', outcome: 'refused', message: 'links are not allowed in media' },
      { words: 'sftp remove media/old.pem', outcome: 'ok' },
      { words: 'sftp mkdir media/new', outcome: 'failed', message: 'Failure' },
      { words: 'sftp rename media/a media/b', outcome: 'ok' },
      { words: 'sftp put media/big.iso', outcome: 'failed', message: 'the session ended during the transfer' },
    ]);
  });
});
