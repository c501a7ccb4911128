// Types of sshd.mjs (plain JavaScript so that bench/ shares it).

export interface Sshd {
  port: number;
  /** The PAM service it authenticates with: /etc/pam.d/<pamService>, removed by stop(). */
  pamService: string;
  /** The OS root `platformd --install-ssh` wrote into. */
  osRoot: string;
  /** The last of what sshd logged. */
  log(): string;
  stop(): Promise<void>;
}

export function startSshd(options: { home: string; dir: string; port: number; allowUsers: string[]; env?: NodeJS.ProcessEnv }): Promise<Sshd>;

export function addServerAccount(options: { user: string; home: string; password?: string }): void;

export function startSftpServer(options: { dir: string; port: number; user: string; hostKey?: string; passwords?: boolean }): Promise<import('node:child_process').ChildProcess>;
