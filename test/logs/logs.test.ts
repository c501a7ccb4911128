// The node's logs: names resolved by unique prefix (and nothing but the
// listed logs ever opened), viewing, following a line appended after the
// command started, a bundle sent to a file:// location and to a real
// OpenSSH server over sftp (the host key checked), and rotation that
// keeps 28 compressed copies, by the daemon itself and by Debian's logrotate
// with the appliance's configuration.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LogNameError, logFiles, resolveLog } from '../../logs/files.js';
import { rotateLogs } from '../../logs/rotate.js';
import { freePort, PLATFORM, ROOT, startDaemon, tempHome, withoutCI, type RunningDaemon } from '../support/daemon.js';
import { openTerminal } from '../support/pty.js';
import { addServerAccount, startSftpServer } from '../support/sshd.mjs';

let node: RunningDaemon;
beforeAll(async () => {
  node = await startDaemon();
});
afterAll(async () => {
  await node?.stop();
});

describe('log names', () => {
  const files = [{ name: 'platform/platformd.log' }, { name: 'platform/platformd.log.1.gz' }, { name: 'nginx/access.log' }, { name: 'nginx/error.log' }, { name: 'audit/audit.log' }];
  it('resolve an exact name or a unique prefix, and say what an ambiguous one could be', () => {
    expect(resolveLog(files, 'nginx/a').name).toBe('nginx/access.log');
    expect(resolveLog(files, 'au').name).toBe('audit/audit.log');
    expect(resolveLog(files, 'nginx/e').name).toBe('nginx/error.log');
    expect(resolveLog(files, 'platform/platformd.log').name).toBe('platform/platformd.log');
    expect(() => resolveLog(files, 'nginx/')).toThrow(/could be nginx\/access\.log, nginx\/error\.log/);
  });

  it('never reach a file that is not listed', () => {
    for (const hostile of ['../../etc/shadow', '/etc/shadow', 'platform/../../../etc/shadow', 'platform/platformd.log/../../x', '\u0000']) {
      expect(() => resolveLog(files, hostile), hostile).toThrow(LogNameError);
    }
  });
});

describe('log commands', () => {
  it('lists the platform log and the audit log; views by prefix; refuses names it does not hold', async () => {
    const list = await node.platform(['log', 'list']);
    expect(list.stdout).toContain('platform/platformd.log');
    expect(list.stdout).toContain('audit/audit.log');
    const view = await node.platform(['log', 'view', 'platform/platformd.l']);
    expect(view.status, view.stderr).toBe(0);
    expect(view.stdout).toMatch(/serving .*platformd\.sock/);
    const audit = await node.platform(['log', 'view', 'audit']);
    expect(audit.stdout).toContain('"log list"');
    const hostile = await node.platform(['log', 'view', '../../etc/shadow']);
    expect(hostile.status).toBe(2);
    expect(hostile.stderr).toContain('no log is called');
  });

  it('pages a log on a terminal: / searches by regular expression, n finds the next match, q quits', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `filler line ${i}${i === 150 ? ' needle-alpha-150' : ''}${i === 180 ? ' needle-beta-180' : ''}`);
    appendFileSync(join(node.home, 'logs', 'platformd.log'), lines.join('\n') + '\n');
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home, 'log', 'view', 'platform/platformd.log'], withoutCI());
    await term.waitFor('filler line 0'.slice(0, 6));
    expect(term.screen()).not.toContain('needle-alpha-150'); // a page, not the whole file
    const mark = term.screen().length;
    term.write('/needle-[a-z]+-1[0-9]0\r');
    await term.waitFor('needle-alpha-150', { from: mark });
    const next = term.screen().length;
    term.write('n');
    await term.waitFor('needle-beta-180', { from: next });
    term.write('q');
    expect(await term.exited).toBe(0);
  });

  it('follows a log: a line appended after it started shows, until Ctrl-C', async () => {
    const child = spawn(process.execPath, [PLATFORM, '--home', node.home, 'log', 'follow', 'platform/platformd'], { env: withoutCI(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const line = `appended-after-follow-${process.pid}`;
    const deadline = Date.now() + 15_000;
    // The command takes a moment to start: append a numbered line each half second until one shows.
    let n = 0;
    while (!out.includes(line)) {
      if (Date.now() > deadline) throw new Error(`follow did not show the line: ${out}`);
      appendFileSync(join(node.home, 'logs', 'platformd.log'), `${line} ${++n}\n`);
      await new Promise((r) => setTimeout(r, 500));
    }
    // Only lines appended after it started: the first one it shows is a later one than the first written, or the first.
    const shown = Number(new RegExp(`${line} (\\d+)`).exec(out)![1]);
    expect(shown).toBeGreaterThanOrEqual(1);
    expect(out).not.toContain('serving'); // what was in the file before is not shown
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  });

  it('sends a compressed bundle of the logs to a file:// location', async () => {
    const dest = tempHome('ps-logsend-');
    expect((await node.platform(['backup', 'add', 'local', `file://${dest}`])).status).toBe(0);
    const sent = await node.platform(['log', 'send', 'local']);
    expect(sent.status, sent.stderr).toBe(0);
    const [bundle] = readdirSync(dest).filter((f) => f.endsWith('.tar.gz'));
    expect(bundle).toBeTruthy();
    const listing = execFileSync('tar', ['-tzf', join(dest, bundle!)], { encoding: 'utf8' });
    expect(listing).toContain('logs/platformd.log');
    expect(listing).toContain('audit.log');
    expect((await node.platform(['log', 'send', 'nowhere'])).status).toBe(2);
  });

  it('keeps the audit log for 365 days unless set otherwise', async () => {
    expect((await node.platform(['log', 'retention'])).stdout).toContain('retention days: 365');
    expect((await node.platform(['log', 'retention', '30'])).stdout).toContain('retention days: 30');
    expect((await node.platform(['log', 'retention', '0'])).status).toBe(2);
  });
});

// `log send` to an sftp location goes through the backup transports: a real
// OpenSSH server on loopback with a throwaway password account, its host
// key trusted with `keys add`, the password asked at the prompt.
describe('log send over sftp', () => {
  const user = `psl${process.pid % 10000}`;
  const password = 'Logs-Pa55!';
  const port = freePort();
  const dir = `/var/tmp/ps-logsftp-${process.pid}`;
  const remote = join(dir, 'home', 'logs');
  let sshd: ChildProcess | undefined;
  const bundles = () => (existsSync(remote) ? readdirSync(remote) : []);

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    addServerAccount({ user, home: join(dir, 'home'), password });
    mkdirSync(remote, { recursive: true });
    execFileSync('chown', [user, remote]);
    sshd = await startSftpServer({ dir, port, user });
    expect((await node.platform(['system', 'setup', '--hostname', 'logs01', '--role', 'application'])).status).toBe(0);
    expect((await node.platform(['backup', 'add', 'ssh', `sftp://${user}@127.0.0.1:${port}${remote}`])).status).toBe(0);
  });

  afterAll(() => {
    sshd?.kill();
    spawnSync('userdel', [user]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a server whose host key the node does not trust, and writes nothing there', async () => {
    const refused = await node.platform(['log', 'send', 'ssh']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('the logs were not sent');
    expect(refused.stderr).toContain(`keys add 127.0.0.1 ${port}`);
    expect(bundles()).toEqual([]);
  });

  it('sends a valid tar.gz holding the platform log, the password asked and never stored', async () => {
    expect((await node.platform(['keys', 'add', '127.0.0.1', String(port), '--yes'])).status).toBe(0);
    const term = openTerminal(process.execPath, [PLATFORM, '--home', node.home, 'log', 'send', 'ssh']);
    try {
      await term.waitFor(`password of ${user}@127.0.0.1`, { timeout: 30_000 });
      term.write(`${password}\r`);
      await term.waitFor('tar.gz', { timeout: 60_000 });
      expect(await term.exited).toBe(0);
      expect(term.screen()).not.toContain(password);
    } finally {
      term.kill();
    }
    // Only the finished bundle: no temporary name left behind.
    const arrived = bundles();
    expect(arrived).toHaveLength(1);
    expect(arrived[0]).toMatch(/^logs01-logs-\d{8}T\d{6}Z\.tar\.gz$/);
    const bundle = join(remote, arrived[0]!);
    expect(gunzipSync(readFileSync(bundle)).length).toBeGreaterThan(0);
    const unpacked = mkdtempSync('/var/tmp/ps-logsftp-unpacked-');
    try {
      execFileSync('tar', ['-xzf', bundle, '-C', unpacked]);
      expect(readFileSync(join(unpacked, 'logs', 'platformd.log'), 'utf8')).toMatch(/serving .*platformd\.sock/);
      expect(readFileSync(join(unpacked, 'audit.log'), 'utf8')).toContain('log send');
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
    expect(readFileSync(join(node.home, 'config.db')).includes(Buffer.from(password))).toBe(false);
  });
});

describe('rotation', () => {
  it('the daemon keeps 28 compressed copies', async () => {
    const dir = tempHome('ps-rotate-');
    for (let day = 1; day <= 31; day++) {
      writeFileSync(join(dir, 'platformd.log'), `day ${day}\n`, { flag: 'a' });
      await rotateLogs(dir);
    }
    const copies = readdirSync(dir).filter((f) => f.startsWith('platformd.log.'));
    expect(copies).toHaveLength(28);
    expect(copies.every((f) => /^platformd\.log\.\d+\.gz$/.test(f))).toBe(true);
    expect(gunzipSync(readFileSync(join(dir, 'platformd.log.1.gz'))).toString()).toBe('day 31\n');
    expect(gunzipSync(readFileSync(join(dir, 'platformd.log.28.gz'))).toString()).toBe('day 4\n');
    expect(readFileSync(join(dir, 'platformd.log'), 'utf8')).toBe('');
    expect(logFiles(dir).map((f) => f.name).slice(0, 3)).toEqual(['platform/platformd.log', 'platform/platformd.log.1.gz', 'platform/platformd.log.2.gz']);
  });

  it("Debian's logrotate with the appliance's configuration keeps 28 compressed copies", () => {
    const dir = tempHome('ps-logrotate-');
    const conf = readFileSync(join(ROOT, 'packer', 'systemd', 'platform.logrotate'), 'utf8').replace('/opt/platform/logs', join(dir, 'logs'));
    execFileSync('mkdir', ['-p', join(dir, 'logs')]);
    writeFileSync(join(dir, 'logrotate.conf'), conf);
    for (let day = 1; day <= 31; day++) {
      writeFileSync(join(dir, 'logs', 'platformd.log'), `day ${day}\n`, { flag: 'a' });
      execFileSync('/usr/sbin/logrotate', ['-f', '-s', join(dir, 'state'), join(dir, 'logrotate.conf')]);
    }
    const copies = readdirSync(join(dir, 'logs')).filter((f) => f.startsWith('platformd.log.'));
    expect(copies).toHaveLength(28);
    expect(copies.every((f) => f.endsWith('.gz'))).toBe(true);
    expect(existsSync(join(dir, 'logs', 'platformd.log.1.gz'))).toBe(true);
    expect(gunzipSync(readFileSync(join(dir, 'logs', 'platformd.log.1.gz'))).toString()).toBe('day 31\n');
  });
});
