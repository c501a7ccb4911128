// What every backup location does, whatever its scheme. A transport moves
// whole files between this node and one folder of the location. `put`
// writes under a temporary name and renames when complete, so an
// interrupted transfer never looks like a backup; `get` stops at `maxBytes`.

import type { NetworkUri } from '../../net/uri.js';
import type { Egress } from '../../net/connector.js';

export interface RemoteFile {
  name: string;
  size: number;
}

/** Called with bytes moved so far. */
export type Progress = (bytes: number) => void;

export interface Transport {
  /** Regular files in the location's folder (names as the server gives them: unchecked). */
  list(): Promise<RemoteFile[]>;
  put(localFile: string, name: string, progress: Progress): Promise<void>;
  get(name: string, localFile: string, maxBytes: number, progress: Progress): Promise<void>;
  /** A small file, read whole into memory (manifests). */
  read(name: string, maxBytes: number): Promise<Buffer>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}

/** What a transport needs besides the URI: credentials and the hosts the node trusts. */
export interface TransportOptions {
  uri: NetworkUri;
  /** The node's SSH private key (keys create), when there is one. */
  privateKey?: Buffer;
  /** Asks for the password when the URI holds none and the key is refused (never stored). */
  askPassword(prompt: string): Promise<string>;
  /** Host keys the node trusts, for sftp/scp. */
  trustedHostKey(host: string, port: number): string | undefined;
  /** How connections leave the node (`network proxy`, its bypass list): every TCP connection goes through net/connector.ts. */
  egress?: Egress;
  signal: AbortSignal;
}

/** Temporary names start with a dot and never match a backup's name. */
export const temporaryName = (name: string) => `.${name}.partial-${process.pid}-${Date.now()}`;

/** A transfer error with a message that says where. */
export class TransportError extends Error {}
