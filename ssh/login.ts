// What an SSH login meets: the session limit and the pre-login banner. The
// session limit is enforced by the console itself (every SSH session,
// interactive, one-shot or file transfer, runs the console, which registers
// with the daemon); the banner is the file sshd shows before login. The
// commands that change them are in commands/system-ssh.ts.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBoundedFile, writeFileInside } from '../os/files.js';
import { fileIn } from '../os/names.js';
import { badInput } from '../core/errors.js';
import { type Context } from '../core/context.js';
import type { Paths } from '../core/paths.js';

export const BANNER_MAX_CHARS = 1600;

export const sessionLimit = (ctx: Pick<Context, 'store'>) => ctx.store.settings.get('ssh.sessionLimit');

/** The file sshd's `Banner` points at. */
export const bannerFile = (paths: Paths) => join(paths.etc, 'sshd-banner');

function writeBanner(paths: Paths, content: string): void {
  writeFileInside(paths.etc, 'sshd-banner', content, 0o644);
}

/** The banner sshd shows now; empty when there is none. */
export function readBanner(paths: Paths): string {
  return existsSync(bannerFile(paths)) ? readFileSync(bannerFile(paths), 'utf8') : '';
}

export function removeBanner(paths: Paths): void {
  writeBanner(paths, '');
}

/** Installs a file uploaded to media as the banner: plain ASCII, at most BANNER_MAX_CHARS; returns its length. */
export async function installBanner(paths: Paths, file: string): Promise<number> {
  // Opened once, checked through the descriptor; refused beyond the bound before anything is read.
  const content = (await readBoundedFile(fileIn(paths.media, file, 'media file name'), { maxBytes: BANNER_MAX_CHARS, label: `media/${file}` }).catch((error) => {
    throw error?.code === 'too-large' ? badInput('banner-too-long', `${error.message} (a banner has at most ${BANNER_MAX_CHARS} characters)`) : error;
  })).toString('latin1');
  if (content.length > BANNER_MAX_CHARS) throw badInput('banner-too-long', `the banner has ${content.length} characters; at most ${BANNER_MAX_CHARS} are allowed`);
  if (/[^\x09\x0a\x0d\x20-\x7e]/.test(content)) throw badInput('banner-not-ascii', 'the banner must be plain ASCII text');
  writeBanner(paths, content);
  return content.length;
}
