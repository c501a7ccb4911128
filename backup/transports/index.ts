// The transport for a location's scheme: one table.

import { fileTransport } from './file.js';
import { ftpTransport } from './ftp.js';
import { sftpTransport } from './sftp.js';
import type { Transport, TransportOptions } from './transport.js';

const BY_SCHEME: Record<string, (options: TransportOptions) => Promise<Transport>> = {
  file: async (options) => fileTransport(options.uri.path!, options.signal),
  sftp: sftpTransport,
  scp: sftpTransport,
  ftp: ftpTransport,
};

export async function openTransport(options: TransportOptions): Promise<Transport> {
  const open = BY_SCHEME[options.uri.scheme];
  if (!open) throw new Error(`${options.uri.scheme} is not a backup location scheme`);
  return open(options);
}

export type { Transport, TransportOptions } from './transport.js';
export { TransportError } from './transport.js';
