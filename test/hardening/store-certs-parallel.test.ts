// Two certificate changes at once (issue 15: two `web cert gen_selfsigned`
// together failed with a raw ENOENT, and one could report a certificate as
// served that nginx did not serve). Changes now run one after the other;
// each success names the certificate a real TLS handshake returned.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servedFingerprint } from '../../web/service.js';
import { freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';

let node: RunningDaemon;
const HTTPS = freePort();

beforeAll(async () => {
  node = await startDaemon({ args: ['--web-port', String(HTTPS), '--http-port', String(freePort())] });
});
afterAll(async () => {
  await node.stop();
});

describe('parallel certificate generation', () => {
  it('succeeds for each, with no raw error, and ends serving the certificate the store reports installed', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => node.platform(['web', 'cert', 'gen_selfsigned', '--yes', '--json'])));
    const fingerprints: string[] = [];
    for (const run of runs) {
      expect(run.stderr).not.toMatch(/ENOENT|EEXIST|    at /);
      expect(run.status, run.stderr).toBe(0);
      fingerprints.push(JSON.parse(run.stdout).installed.fingerprint);
    }
    // Three different certificates were made, one after the other...
    expect(new Set(fingerprints).size).toBe(3);
    // ...and what is served now is the one the node says is installed, which is one of them.
    const details = JSON.parse((await node.platform(['web', 'cert', 'details', '--json'])).stdout);
    const installed = details.installed.fingerprint;
    expect(fingerprints).toContain(installed);
    expect(await servedFingerprint('127.0.0.1', HTTPS)).toBe(installed);
  });
});
