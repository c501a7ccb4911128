// `web cluster prepnode` for real: two platformd instances in their own
// network namespaces. A node with no role yet becomes a web proxy and is
// joined by an application node, which becomes its nginx backend; a node of
// another role is refused and left as it was.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLan, removeStale, type Lan } from '../support/netns.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { nginxLayout } from '../../web/nginx.js';
import { pathsFor } from '../../core/paths.js';

const PREFIX = `pswp${process.pid % 10000}`;
const NET = '10.250.31';
let lan: Lan;
let proxy: RunningDaemon;
let app: RunningDaemon;
const json = async (node: RunningDaemon, words: string[]) => JSON.parse((await node.platform(['--json', ...words])).stdout);
const setting = (node: RunningDaemon, key: string) =>
  execFileSync('sqlite3', [join(node.home, 'config.db'), `SELECT value FROM settings WHERE key = '${key}'`], { encoding: 'utf8' }).trim();

beforeAll(async () => {
  removeStale(PREFIX);
  lan = createLan(PREFIX, NET, 'fd00:250:31', { proxy: 1, app: 2 });
  const args = ['--web-port', '443', '--http-port', '80', '--cluster-port', '8443'];
  [proxy, app] = await Promise.all([startDaemon({ netns: lan.hosts.proxy!.ns, args }), startDaemon({ netns: lan.hosts.app!.ns, args })]);
  expect((await app.platform(['system', 'setup', '--hostname', 'app01', '--role', 'application', '--ip', `${NET}.2`])).status).toBe(0);
}, 120_000);

afterAll(async () => {
  await Promise.all([proxy?.stop(), app?.stop()]);
  lan?.destroy();
});

describe('web cluster prepnode', () => {
  it('refuses a node of another role, and leaves it as it was', async () => {
    const refused = await app.platform(['web', 'cluster', 'prepnode']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('this node is set up as application, not as a web proxy: prepare it with "cluster prepnode"');
    expect((await json(app, ['system', 'info'])).roles).toEqual(['application']);
    expect(setting(app, 'cluster.joinable')).toBe('');
  });

  it('makes a node with no role a web proxy, joinable, and says what comes next', async () => {
    const text = await proxy.platform(['web', 'cluster', 'prepnode']);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('role: webproxy (set now)');
    expect(text.stdout).toMatch(new RegExp(`On the primary: cluster add ${NET.replace(/\./g, '\\.')}\\.1 [0-9A-F]{5}-[0-9A-F]{5}`));
    expect(text.stdout).toContain('WARNING: the web certificate is self-signed');
    expect((await json(proxy, ['system', 'info'])).roles).toEqual(['webproxy']);
    // Again: a new code; the role is already there.
    const again = await json(proxy, ['web', 'cluster', 'prepnode']);
    expect(again).toMatchObject({ role: 'webproxy', roleSet: false, address: `${NET}.1` });
    expect(again.code).toMatch(/^[0-9A-F]{5}-[0-9A-F]{5}$/);
    expect(JSON.parse(setting(proxy, 'cluster.joinable')).code).toBe(again.code);
  });

  it('is joined as a web proxy, and the application node becomes its backend', async () => {
    const { code } = await json(proxy, ['web', 'cluster', 'prepnode']);
    const added = await app.platform(['cluster', 'add', `${NET}.1`, code]);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toContain('(webproxy, data centre');
    expect((await json(proxy, ['cluster', 'list'])).map((n: { address: string; roles: string[] }) => [n.address, n.roles])).toEqual(
      expect.arrayContaining([
        [`${NET}.1`, ['webproxy']],
        [`${NET}.2`, ['application']],
      ]),
    );
    expect(await json(proxy, ['web', 'weight', 'list'])).toEqual([{ server: `${NET}.2:443`, weight: 1 }]);
    const layout = nginxLayout(pathsFor(proxy.home));
    const dump = execFileSync('nginx', ['-T', '-p', layout.prefix, '-c', layout.conf], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(dump).toContain(`server ${NET}.2:443 weight=1`);
    // A member is not prepared again, and nothing changes.
    const member = await proxy.platform(['web', 'cluster', 'prepnode']);
    expect(member.status).toBe(2);
    expect(member.stderr).toContain('already in a cluster');
    expect((await json(proxy, ['system', 'info'])).roles).toEqual(['webproxy']);
  });
});
