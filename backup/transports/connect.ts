// Opens the transport of a location with the node's own credentials: its
// SSH key (keys create), the hosts it trusts (keys add), the way out
// (network proxy and its bypass list: net/connector.ts) and a password asked at the prompt, never stored. Shared
// by backups and `log send`, so both reach a location the same way.

import { existsSync, readFileSync } from 'node:fs';
import type { NetworkUri } from '../../net/uri.js';
import { egressOf } from '../../net/connector.js';
import { nodePrivateKeyFile, trustedHostKey } from '../../ssh/known-hosts.js';
import type { Store } from '../../store/db.js';
import type { Paths } from '../../core/paths.js';
import { openTransport } from './index.js';
import type { Transport } from './transport.js';

/** What opening a location needs from the node. */
export interface LocationEnv {
  store: Store;
  paths: Paths;
  ask(question: { text: string; secret?: boolean }): Promise<string>;
  signal: AbortSignal;
}

export async function connectLocation(env: LocationEnv, uri: NetworkUri): Promise<Transport> {
  const keyFile = nodePrivateKeyFile(env.paths);
  return openTransport({
    uri,
    privateKey: existsSync(keyFile) ? readFileSync(keyFile) : undefined,
    askPassword: (text) => env.ask({ text, secret: true }),
    trustedHostKey: (host, port) => trustedHostKey(env.paths, host, port),
    egress: egressOf(env.store),
    signal: env.signal,
  });
}
