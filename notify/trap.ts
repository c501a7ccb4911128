// SNMP notifications with net-snmp, v2c (community) or v3 (authNoPriv or
// authPriv, as the target's URI gives). They are sent as informs, the
// acknowledged kind of trap: a receiver that is down does not answer, so
// the outbox keeps the message and tries again, as it does for mail.
//
// The varbinds live under the enterprise OID documented in the README
// (NET-SNMP's experimental arc netSnmpPlaypen.7 until a private enterprise
// number is registered).

import type { NetworkUri } from '../net/uri.js';
import type { Notification } from './message.js';
import { defaultPort } from '../catalog/derive.js';

export const ENTERPRISE_OID = '1.3.6.1.4.1.8072.9999.9999.7';
/** The notification's own OID (snmpTrapOID.0). */
export const EVENT_NOTIFICATION_OID = `${ENTERPRISE_OID}.0.1`;
export const VARBIND_OIDS = {
  node: `${ENTERPRISE_OID}.1.1`,
  level: `${ENTERPRISE_OID}.1.2`,
  event: `${ENTERPRISE_OID}.1.3`,
  text: `${ENTERPRISE_OID}.1.4`,
} as const;

const DEFAULT_TRAP_PORT = defaultPort('snmpTrap');
/** How long an inform waits for its acknowledgement, and how often it is repeated meanwhile. */
export const INFORM_TIMEOUT_MS = 3000;
const INFORM_RETRIES = 1;

type NetSnmp = (typeof import('net-snmp'))['default'];
let loaded: NetSnmp | undefined;
const load = async (): Promise<NetSnmp> => (loaded ??= (await import('net-snmp')).default);

const AUTH: Record<string, string> = { MD5: 'md5', SHA: 'sha', 'SHA-224': 'sha224', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const PRIV: Record<string, string> = { DES: 'des', AES: 'aes' };

export function varbindsOf(snmp: NetSnmp, n: Notification) {
  const octets = (oid: string, value: string) => ({ oid, type: snmp.ObjectType.OctetString, value: Buffer.from(value, 'utf8').subarray(0, 1024) });
  return [octets(VARBIND_OIDS.node, n.node), octets(VARBIND_OIDS.level, n.level), octets(VARBIND_OIDS.event, n.event), octets(VARBIND_OIDS.text, n.text)];
}

/** Sends one notification to an snmp:// target and resolves when the receiver acknowledged it; aborting `signal` closes the session at once. */
export async function sendInform(uri: NetworkUri, n: Notification, signal?: AbortSignal): Promise<void> {
  const snmp = await load();
  const port = uri.port ?? DEFAULT_TRAP_PORT;
  const common = { port, trapPort: port, timeout: INFORM_TIMEOUT_MS, retries: INFORM_RETRIES, transport: uri.host!.includes(':') ? 'udp6' : 'udp4' };
  const session =
    uri.snmpVersion === 'v3'
      ? snmp.createV3Session(uri.host!, {
          name: uri.user!,
          level: uri.priv ? snmp.SecurityLevel.authPriv : snmp.SecurityLevel.authNoPriv,
          authProtocol: (snmp.AuthProtocols as Record<string, unknown>)[AUTH[uri.auth!]!],
          authKey: uri.password!,
          ...(uri.priv ? { privProtocol: (snmp.PrivProtocols as Record<string, unknown>)[PRIV[uri.priv]!], privKey: uri.privPassword! } : {}),
        } as never, { ...common, version: snmp.Version3 } as never)
      : snmp.createSession(uri.host!, uri.community!, { ...common, version: snmp.Version2c } as never);
  try {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      session.on('error', reject);
      session.inform(EVENT_NOTIFICATION_OID, varbindsOf(snmp, n), (error: Error | null) => (error ? reject(error) : resolve()));
    });
  } finally {
    session.close();
  }
}
