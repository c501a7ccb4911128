// Every generator checks each value again as it writes it. A row of the
// store that no command would have accepted (written here by raw SQL, as a
// hand edit or a restore would) is refused by the store's own row shapes
// first (store/rows.ts); behind them, the generators of nginx's, snmpd's and
// sshd's configuration leave such a value out, still write and serve the
// rest, and say what they left out.

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:https';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkedBackends, nginxConfig, type NginxSettings } from '../../web/nginx.js';
import { installOpenSsh, PAM_SERVICE, SSHD_DROP_IN, SSHD_MAIN } from '../../ssh/openssh.js';
import { SnmpAgent } from '../../snmp/agent.js';
import { Store } from '../../store/db.js';
import { pathsFor } from '../../core/paths.js';
import type { SkippedValue } from '../../core/skipped.js';
import { freePort, startDaemon, tempHome, type RunningDaemon } from '../support/daemon.js';

/** The row of the finding: one weight whose server closes the upstream and opens a server of its own. */
const injection = (listenPort: number, file: string) =>
  `127.0.0.1:9 weight=1; } log_format pwn 'TEXT'; server { listen 127.0.0.1:${listenPort}; access_log ${file} pwn; return 200 x; } upstream dummy { server 127.0.0.1:9`;

/** Any HTTP answer over TLS from the web port: nginx serves. */
function httpsStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.end();
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });
}

describe('nginx upstreams from the store', () => {
  it('take only host:port and whole weights 0..100; the rest is left out and named', () => {
    const { backends, skipped } = checkedBackends([
      { server: injection(41997, '/tmp/x'), weight: 1 },
      { server: '2001:db8::1:443', weight: 1 }, // IPv6 without brackets
      { server: '10.0.0.1:0', weight: 1 },
      { server: '10.0.0.1:65536', weight: 1 },
      { server: 'app 1:443', weight: 1 },
      { server: '10.0.0.2:443', weight: 1.5 },
      { server: '10.0.0.3:443', weight: -1 },
      { server: '10.0.0.4:443', weight: 101 },
      { server: '10.0.0.5:443', weight: 7 },
      { server: '[2001:DB8::5]:8443', weight: 0 },
      { server: 'App-1.example:443', weight: 100 },
    ]);
    expect(backends).toEqual([
      { server: '10.0.0.5:443', weight: 7 },
      { server: '[2001:db8::5]:8443', weight: 0 },
      { server: 'app-1.example:443', weight: 100 },
    ]);
    expect(skipped).toHaveLength(8);
    for (const s of skipped) expect(s.value).toMatch(/^"[\x20-\x7e]{1,82}"$/);
  });

  it('a stored TLS minimum nginx does not know becomes the default, and is named', () => {
    const paths = pathsFor(tempHome());
    const settings: NginxSettings = { httpsPort: 9443, httpPort: 9080, tlsMinimum: '1.2; ssl_ciphers NULL' as never, certificate: '/c', key: '/k', backends: [], disabledPortals: [] };
    const { text, skipped } = nginxConfig(paths, settings);
    expect(text).toMatch(/^ {4}ssl_protocols TLSv1\.2 TLSv1\.3;$/m);
    expect(text).not.toContain('NULL');
    expect(skipped.map((s) => s.what)).toEqual(['TLS minimum']);
  });

  let daemon: RunningDaemon | undefined;
  afterAll(async () => {
    await daemon?.stop();
  });

  it('a hostile weight row and cluster address never reach nginx: the store names them, nginx keeps serving what it served', async () => {
    const [https, http] = [freePort(), freePort()];
    daemon = await startDaemon({ args: ['--web-port', String(https), '--http-port', String(http)] });
    const before = readFileSync(join(daemon.home, 'etc', 'nginx', 'nginx.conf'), 'utf8');
    const trap = freePort();
    const written = join(daemon.home, 'pwned.txt');
    const db = new Database(join(daemon.home, 'config.db'));
    db.prepare('INSERT INTO web_weights (server, weight) VALUES (?, 1)').run(injection(trap, written));
    db.prepare("INSERT INTO cluster_nodes (address, hostname, roles, data_centre, joined_at) VALUES (?, 'evil', '[\"application\"]', 'dc', '2026-01-01T00:00:00Z')").run('10.9.9.9:1; } server { listen 127.0.0.1:1');
    db.close();

    // A change of the web front end regenerates nginx's configuration from the store, which refuses the rows by name.
    const add = await daemon.platform(['web', 'weight', 'add', '127.0.0.1:8', '3']);
    expect(add.status).toBe(1);
    expect(add.stderr).toMatch(/the config store is invalid: (web_weights "127\.0\.0\.1:9 weight=1; } log_format pwn|cluster_nodes "10\.9\.9\.9:1; })/);

    const conf = readFileSync(join(daemon.home, 'etc', 'nginx', 'nginx.conf'), 'utf8');
    expect(conf).toBe(before);
    expect(conf).not.toMatch(/log_format|pwn|upstream dummy|10\.9\.9\.9/);
    // nginx serves, and serves nothing the row asked for.
    expect(await httpsStatus(https)).toBeGreaterThanOrEqual(200);
    expect(await listening(trap)).toBe(false);
    expect(existsSync(written)).toBe(false);
  });
});

describe('snmpd from the store', () => {
  it('leaves hostile communities, texts and users out, and a real snmpd serves the rest', async () => {
    const home = tempHome('ps-gen-snmp-');
    mkdirSync(join(home, 'etc'), { recursive: true });
    mkdirSync(join(home, 'run'), { recursive: true });
    // The store refuses such a value on read (store/rows.ts): the agent gets it here as an older version's
    // unchecked read would have handed it over, to show that the generator's own check holds behind the store's.
    const real = Store.open(join(home, 'config.db'));
    const hostile = { communities: [{ name: 'good7' }, { name: 'x\nrwcommunity evil' }, { name: 'ok', source: '10.0.0.0/8\nrwcommunity evil' }], users: [], location: 'Rack 7"\nrwcommunity evil', contact: 'x'.repeat(300) };
    const store = { settings: { get: (key: string) => (key === 'snmp' ? structuredClone(hostile) : real.settings.get(key as never)), set: () => undefined }, close: () => real.close() } as unknown as Store;
    const reported: SkippedValue[][] = [];
    const logged: string[] = [];
    const agent = new SnmpAgent({
      store,
      etc: join(home, 'etc'),
      run: join(home, 'run'),
      appliance: false,
      agentPort: freePort(),
      hostname: () => 'gen01',
      log: (_level, message) => logged.push(message),
      died: () => undefined,
      skipped: (values) => reported.push(values),
    });
    try {
      await agent.start();
      expect(agent.running()).toBe(true);
      const conf = readFileSync(agent.configFile, 'utf8');
      expect(conf).toContain('rocommunity good7 default\n');
      expect(conf).not.toMatch(/evil|rwcommunity|sysLocation|sysContact|rocommunity6? ok /);
      expect(reported).toHaveLength(1);
      expect(reported[0]!.map((s) => s.what)).toEqual(['location', 'contact', 'community', 'community']);
    } finally {
      await agent.stop();
      store.close();
    }
    expect(logged.join('\n')).not.toMatch(/refused/);
  });
});

describe('sshd and PAM from the home and the console group', () => {
  it('leave out paths and a group that would add settings, and sshd accepts the rest', () => {
    const root = tempHome('ps-gen-osroot-');
    mkdirSync(join(root, 'etc', 'ssh'), { recursive: true });
    writeFileSync(join(root, SSHD_MAIN), 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n');
    // A home whose name holds a newline and a setting, and a group name that does the same.
    const home = join(tempHome('ps-gen-sshd-'), 'x\nPermitRootLogin yes\nPasswordAuthentication yes');
    mkdirSync(home, { recursive: true });
    const before = process.env.PLATFORM_CONSOLE_GROUP;
    process.env.PLATFORM_CONSOLE_GROUP = 'platform\nMatch all\nPermitRootLogin yes';
    try {
      const { skipped } = installOpenSsh(pathsFor(home), root); // sshd -t checks the drop-in: it throws if sshd refuses it
      const dropIn = readFileSync(join(root, SSHD_DROP_IN), 'utf8');
      expect(dropIn).not.toMatch(/PermitRootLogin yes|PasswordAuthentication yes|^Banner/m);
      expect(dropIn).toMatch(/^AuthorizedKeysFile \.ssh\/authorized_keys$/m);
      // Without a group to match, the console users' restrictions hold for everyone.
      expect(dropIn).toMatch(/^Match all\n {4}AllowTcpForwarding no$/m);
      const pam = readFileSync(join(root, PAM_SERVICE), 'utf8');
      expect(pam).not.toMatch(/PermitRootLogin|dir=/);
      expect(pam).toMatch(/^auth +requisite +pam_faillock\.so preauth deny=\d+ /m);
      expect(skipped.map((s) => s.what).sort()).toEqual(['AuthorizedKeysFile folder', 'Banner path', 'console group', 'pam_faillock folder']);
      for (const s of skipped) expect(s.value).not.toContain('\n');
    } finally {
      if (before === undefined) delete process.env.PLATFORM_CONSOLE_GROUP;
      else process.env.PLATFORM_CONSOLE_GROUP = before;
    }
  });
});
