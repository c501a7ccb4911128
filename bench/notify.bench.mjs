// Notifications against Debian's own senders, in the same run, to the same
// real receivers on loopback (snmptrapd, aiosmtpd):
//   event raised (`platform notify test`) → inform received by snmptrapd,
//     against `snmpinform` (Debian's snmptrap -Ci) sending the same varbinds;
//   event raised → mail accepted by the relay (in its Maildir),
//     against `swaks` sending one mail;
//   the outbox draining 1,000 queued mails (50 targets × 20 events, waiting
//     for a relay until `notify emailrelay` sets one), against swaks sending
//     mails one process each (measured on 100, scaled to 1,000).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { median, report, tempDir } from './lib.mjs';

const base = 44000 + (process.pid % 1000) * 5;
const [SMTP, TRAPS] = [base, base + 1];
const OID = '1.3.6.1.4.1.8072.9999.9999.7';
const home = tempDir('ps-notifybench-');
const work = tempDir('ps-notifybench-srv-');
const env = { ...process.env, PLATFORM_EVENTS_INTERVAL_MS: '600000' };
delete env.CI;
const platform = (...words) => {
  const r = spawnSync(process.execPath, ['bin/platform.js', '--home', home, ...words], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`platform ${words.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const children = [];
const start = (file, args, extraEnv = {}) => {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...extraEnv } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  children.push(child);
  return { child, output: () => out };
};
// A last resort when the benchmark fails half-way; a normal end stops them gently (stopChildren).
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
/** Ends each child by its PID with SIGTERM first: platformd stops its own nginx then, not on SIGKILL. */
const stopChildren = () =>
  Promise.all(
    children
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map(
        (c) =>
          new Promise((done) => {
            const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
            c.once('exit', () => (clearTimeout(timer), done()));
            c.kill('SIGTERM');
          }),
      ),
  );
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('benchmark: timed out');
    await sleep(2);
  }
}

const maildir = join(work, 'Maildir');
const mails = () => (existsSync(join(maildir, 'new')) ? readdirSync(join(maildir, 'new')).length : 0);
start('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${SMTP}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir]);
const trapd = start('/usr/sbin/snmptrapd', ['-f', '-Lo', '-C', '-c', '/dev/null', '--authCommunity=log bench1', '-On', '-F', 'TRAP %V~%v\\n', `udp:127.0.0.1:${TRAPS}`], { SNMP_PERSISTENT_DIR: join(work, 'persist'), MIBS: '' });
const traps = () => trapd.output().split('\n').filter((l) => l.startsWith('TRAP')).length;
const daemon = start(process.execPath, ['bin/platformd.js', '--home', home, '--web-port', String(base + 2), '--http-port', String(base + 3), '--cluster-port', String(base + 4)], env);
while (!existsSync(join(home, 'run', 'platformd.sock'))) await sleep(50);
await until(() => /NET-SNMP version/.test(trapd.output()), 10_000);
await sleep(500);

platform('notify', 'add', 'error', `snmp://bench1@127.0.0.1:${TRAPS}`);
platform('notify', 'add', 'warn', 'mailto:ops@example.test');
platform('notify', 'emailrelay', `127.0.0.1:${SMTP}`);

/** When platformd logged the last notify-test event it raised (its log line's own time stamp). */
const lastRaised = () => {
  const lines = daemon.output().split('\n').filter((l) => l.includes(' event notify-test: '));
  return Date.parse(lines.at(-1)?.split(' ')[0] ?? '');
};

/** Median of `runs` latencies: from spawning `cmd` to `count()` growing by one; `inDaemon`: from platformd raising the event. */
async function latency(cmd, args, count, runs = 9, inDaemon) {
  const samples = [];
  for (let i = 0; i <= runs; i++) {
    const before = count();
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: 'ignore', env });
    await until(() => count() > before, 30_000);
    const now = Date.now();
    if (i > 0) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (i > 0 && inDaemon) inDaemon.push(now - lastRaised());
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  }
  return median(samples);
}

const trapInDaemon = [];
const trapLatency = await latency(process.execPath, ['bin/platform.js', '--home', home, 'notify', 'test', 'error'], traps, 9, trapInDaemon);
const snmpinform = await latency(
  '/usr/bin/snmpinform',
  ['-v2c', '-c', 'bench1', '-On', `127.0.0.1:${TRAPS}`, '', `${OID}.0.1`, `${OID}.1.1`, 's', 'bench', `${OID}.1.2`, 's', 'error', `${OID}.1.3`, 's', 'notify-test', `${OID}.1.4`, 's', 'test notification'],
  traps,
);
const mailInDaemon = [];
const mailLatency = await latency(process.execPath, ['bin/platform.js', '--home', home, 'notify', 'test', 'warn'], mails, 9, mailInDaemon);
const swaksArgs = (to) => ['--silent', '1', '--server', `127.0.0.1:${SMTP}`, '--from', 'platform@bench', '--to', to, '--header', 'Subject: [bench] WARN: notify-test', '--body', 'test notification'];
const swaks = await latency('/usr/bin/swaks', swaksArgs('ops@example.test'), mails);

// 1,000 queued: 50 mail targets, 20 events each, waiting for a relay.
platform('notify', 'del', 'error', `snmp://bench1@127.0.0.1:${TRAPS}`);
platform('notify', 'del', 'warn', 'mailto:ops@example.test');
const targets = Array.from({ length: 50 }, (_, i) => `mailto:ops${i}@example.test`);
platform('notify', 'add', 'error', ...targets);
platform('notify', 'emailrelay', '127.0.0.1:1'); // nothing listens: every attempt fails, mail waits
for (let i = 0; i < 20; i++) platform('notify', 'test', 'error');
await until(() => /50 waiting|20 waiting/.test(platform('notify', 'list')), 30_000);
const before = mails();
const t0 = process.hrtime.bigint();
platform('notify', 'emailrelay', `127.0.0.1:${SMTP}`);
await until(() => mails() >= before + 1000, 300_000);
const drain = Number(process.hrtime.bigint() - t0) / 1e6;

const swaksRuns = 100;
const s0 = process.hrtime.bigint();
for (let i = 0; i < swaksRuns; i++) {
  const r = spawnSync('/usr/bin/swaks', swaksArgs(`ops${i % 50}@example.test`), { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('swaks failed');
}
const swaks1000 = (Number(process.hrtime.bigint() - s0) / 1e6) * (1000 / swaksRuns);

report('notify: event → inform / mail, outbox drain (loopback, real snmptrapd and aiosmtpd)', [
  { name: 'notify test (console) → inform received (v2c)', ms: trapLatency, baselineName: 'snmpinform, same varbinds', baselineMs: snmpinform },
  { name: 'event raised in platformd → inform received', ms: median(trapInDaemon), baselineName: 'snmpinform, same varbinds', baselineMs: snmpinform },
  { name: 'notify test (console) → mail in the relay', ms: mailLatency, baselineName: 'swaks, one mail', baselineMs: swaks },
  { name: 'event raised in platformd → mail in the relay', ms: median(mailInDaemon), baselineName: 'swaks, one mail', baselineMs: swaks },
  { name: 'outbox drains 1,000 queued mails', ms: drain, baselineName: `swaks × 1,000 (${swaksRuns} measured, scaled)`, baselineMs: swaks1000 },
]);
await stopChildren();
process.exit(0);
