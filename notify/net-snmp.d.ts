// The part of net-snmp (which ships no types) that notify/trap.ts uses.
declare module 'net-snmp' {
  interface Varbind {
    oid: string;
    type: number;
    value: unknown;
  }
  interface Session {
    on(event: 'error', listener: (error: Error) => void): void;
    inform(oid: string, varbinds: Varbind[], callback: (error: Error | null) => void): void;
    close(): void;
  }
  const snmp: {
    Version2c: number;
    Version3: number;
    ObjectType: { OctetString: number };
    SecurityLevel: { noAuthNoPriv: number; authNoPriv: number; authPriv: number };
    AuthProtocols: Record<string, unknown>;
    PrivProtocols: Record<string, unknown>;
    createSession(target: string, community: string, options: object): Session;
    createV3Session(target: string, user: object, options: object): Session;
  };
  export default snmp;
}
