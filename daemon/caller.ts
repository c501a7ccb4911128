// The trust boundary, in one sentence: a caller on the local socket is the
// user whose token it holds (or nobody, with no rights), and only the cluster
// agent, after checking the primary's member certificate, hands the executor
// a 'cluster' caller (cluster/service.ts, route `run`). Nothing a request
// says about itself grants anything.

import type { Caller } from '../core/context.js';
import type { Paths } from '../core/paths.js';
import { tokenMatches } from '../users/tokens.js';
import type { CallerClaim } from '../core/protocol.js';

/** How a caller that proved nothing shows in the audit log: its claimed name is not recorded. */
export const UNPROVEN = '(unproven)';

/** The only way a local-socket request becomes a caller. */
export function localCaller(paths: Paths, claim: CallerClaim): Caller {
  const asked = { interactive: claim.interactive, assumeYes: claim.assumeYes };
  if (!tokenMatches(paths, claim.user, claim.token)) return { user: UNPROVEN, authenticated: false, origin: 'local', ...asked };
  // The SSH source is what the proven user's own console reports (sshd sets it
  // in the session's environment). It grants nothing: it is recorded as the
  // session's source, and firewall changes take care not to cut it.
  const ssh = claim.sshConnection;
  return { user: claim.user, authenticated: true, origin: ssh ? 'ssh' : 'console', address: ssh?.split(' ')[0], sshConnection: ssh, ...asked };
}
