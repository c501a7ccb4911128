// Types of vm.mjs (plain JavaScript so that bench/ shares it).

export interface Vm {
  pid: number;
  /** Host ports on 127.0.0.1, by the names given in `forwards`. */
  ports: Record<string, number>;
  /** Resolves with QEMU's exit code (or signal) when it exits. */
  exited: Promise<number | string>;
  running(): boolean;
  stderr(): string;
  /** What the guest wrote on its serial console. */
  console(): string;
  stop(): Promise<void>;
}

export function freeLocalPort(): Promise<number>;
export function answersDisk(dir: string, answers: string): string;
export function testDisk(image: string, dir: string, options?: { probeKey?: string }): string;
export function waitForSshBanner(port: number, timeoutMs: number, exited?: Promise<unknown>): Promise<number>;
/** A second NIC on a QEMU socket netdev to another VM, on 127.0.0.1 only: one side listens, the other connects. */
export type PrivateLink = { listen: number; connect?: undefined; mac: string } | { connect: number; listen?: undefined; mac: string };
export function startVm(options: { disk: string; format?: string; answers?: string; forwards?: Record<string, number>; dir: string; memory?: number; cpus?: number; privateLink?: PrivateLink }): Promise<Vm>;
