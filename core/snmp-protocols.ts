// The SNMP v3 protocols every agent and manager has: shared by the URI
// grammar (net/uri.ts), the agent's settings (store/settings.ts) and its
// configuration (snmp/config.ts).

export const SNMP_AUTH_PROTOCOLS = ['MD5', 'SHA', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'] as const;
/** Privacy (encryption) protocols every SNMP v3 agent and manager has (AES is AES-128 CFB). */
export const SNMP_PRIV_PROTOCOLS = ['DES', 'AES'] as const;
