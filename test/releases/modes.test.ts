// A release installed by platformd (umask 0077) stays usable by the console,
// which runs from it as its own user: folders 0755, its manifest 0644.
// Found on the booted image: after `system upgrade` the console's login
// shell gave "Permission denied".

import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempHome } from '../support/daemon.js';
import { makeKey } from '../support/releases.js';
import { writeRelease } from '../../releases/container.js';
import { installRelease } from '../../releases/install.js';
import { productRoot, RELEASE_META } from '../../releases/layout.js';
import { keyIdOf } from '../../releases/manifest.js';
import { createPublicKey } from 'node:crypto';

const work = tempHome('ps-release-modes-');
const umask = process.umask();
afterAll(() => process.umask(umask));

describe('installing a release under umask 0077', () => {
  it('leaves its folders 0755 and its signed manifest 0644', async () => {
    mkdirSync(work, { recursive: true });
    const key = makeKey(work);
    const file = join(work, 'platform-1.0.1.psup');
    const keyId = keyIdOf(createPublicKey(readFileSync(key.publicKey, 'utf8')));
    writeRelease(file, { version: '1.0.1', storeSchema: 1, upgradesFrom: '1.0.0', node: process.versions.node, builtAt: new Date().toISOString(), keyId }, [{ path: 'bin/deep/platform.js', mode: 0o755, from: Buffer.from('x') }], readFileSync(key.privateKey, 'utf8'));
    process.umask(0o077);
    const product = productRoot(join(work, 'product'));
    await installRelease(product, file, { trusted: new Map([[keyId, createPublicKey(readFileSync(key.publicKey, 'utf8'))]]) });
    const release = join(work, 'product', 'releases', '1.0.1');
    const mode = (path: string) => statSync(path).mode & 0o777;
    for (const dir of [release, join(release, 'bin'), join(release, 'bin', 'deep'), join(release, RELEASE_META)]) expect(mode(dir), dir).toBe(0o755);
    expect(mode(join(release, 'bin', 'deep', 'platform.js'))).toBe(0o755);
    expect(mode(join(release, RELEASE_META, 'manifest.json'))).toBe(0o644);
  });
});
