// The web front end's reconfigurations against nginx by hand, in the same
// run: `web service disable|enable` and `web weight add` (store, generated
// configuration, `nginx -t`, reload, old workers gone) against `nginx -t`
// followed by `nginx -s reload` on the same configuration.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { report, startNode, time } from './lib.mjs';

const { home, platform, stop } = await startNode('ps-webbench-home-', 42000 + (process.pid % 1000));
try {
  const nothing = () => spawnSync(process.execPath, ['bin/platform.js', '--home', home, 'web', 'service', 'list'], { stdio: 'ignore' });
  platform('system', 'setup', '--hostname', 'bench', '--role', 'webproxy');
  platform('web', 'weight', 'add', '127.0.0.1:1', '1');
  const nginx = ['-p', join(home, 'etc', 'nginx'), '-c', join(home, 'etc', 'nginx', 'nginx.conf')];
  const byHand = await time(async () => {
    for (const args of [['-t', '-q'], ['-s', 'reload']]) {
      const r = spawnSync('nginx', [...nginx, ...args], { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`nginx ${args.join(' ')} exited ${r.status}`);
    }
  });
  const listOnly = await time(nothing);
  let enabled = true;
  const toggle = await time(() => {
    platform('web', 'service', enabled ? 'disable' : 'enable', 'selfservice');
    enabled = !enabled;
  });
  let weight = 1;
  const weights = await time(() => platform('web', 'weight', 'add', '127.0.0.1:1', String((weight++ % 9) + 1)));
  // A command's time is the console's round trip plus the reconfiguration: both shown, and the difference.
  report('web reconfiguration (median)', [
    { name: 'web service disable|enable, whole command', ms: toggle, baselineName: 'web service list (round trip)', baselineMs: listOnly },
    { name: 'web weight add, whole command', ms: weights, baselineName: 'web service list (round trip)', baselineMs: listOnly },
    { name: 'web service disable|enable, beyond the round trip', ms: toggle - listOnly, baselineName: 'nginx -t; nginx -s reload', baselineMs: byHand, aim: '<= 1.5x' },
    { name: 'web weight add, beyond the round trip', ms: weights - listOnly, baselineName: 'nginx -t; nginx -s reload', baselineMs: byHand, aim: '<= 1.5x' },
  ]);
} finally {
  await stop();
}
