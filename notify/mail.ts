// Mail through the node's relay (notify emailrelay), with nodemailer: one
// connection pool per relay, STARTTLS whenever the relay offers it, sender
// platform@<hostname>. Every wait is bounded, so a relay that never answers
// is a failed attempt, retried later by the outbox. Each connection to the
// relay is opened by net/connector.ts (nodemailer's getSocket), so mail
// goes through `network proxy` like every other way out.

import type { Transporter } from 'nodemailer';
import { mailBody, mailSubject, type Notification } from './message.js';
import { defaultPort } from '../catalog/derive.js';
import { connectOut, DIRECT, proxyFor, type Egress } from '../net/connector.js';
import { formatUri } from '../net/uri.js';

export interface Relay {
  host: string;
  port: number;
}

/** `host[:port]`, IPv6 in brackets; the catalog's SMTP port by default. */
export function parseRelay(text: string): Relay {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) throw new Error(`"${text}" is not host[:port]`);
  const port = match[2] === undefined ? defaultPort('smtp') : Number(match[2]);
  if (port < 1 || port > 65535) throw new Error(`port ${match[2]} is not 1-65535`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

export const MAIL_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

export class Mailer {
  private transport?: { key: string; transporter: Transporter };

  constructor(
    private readonly senderHost: () => string,
    private readonly timeouts: typeof MAIL_TIMEOUTS = MAIL_TIMEOUTS,
    /** How connections leave the node, read for each message (a changed proxy makes a new pool). */
    private readonly egress: () => Egress = () => DIRECT,
  ) {}

  private async transporterFor(relay: Relay): Promise<Transporter> {
    const egress = this.egress();
    const proxy = proxyFor(egress, relay.host);
    const key = `${relay.host}:${relay.port}:${this.senderHost()}:${proxy ? formatUri(proxy) : 'direct'}`;
    if (this.transport?.key === key) return this.transport.transporter;
    this.transport?.transporter.close();
    const nodemailer = (await import('nodemailer')).default;
    const transporter = nodemailer.createTransport({
      host: relay.host,
      port: relay.port,
      secure: false, // plain SMTP, upgraded by STARTTLS when the relay offers it
      name: this.senderHost(),
      // Opportunistic TLS, as MTAs relay (Postfix's "may"): a relay's self-signed certificate still encrypts.
      tls: { rejectUnauthorized: false },
      pool: true,
      maxConnections: 2,
      maxMessages: 500,
      ...this.timeouts,
      getSocket: (_options: unknown, callback: (error: Error | null, socket?: { connection: import('node:net').Socket }) => void) => {
        connectOut(relay.host, relay.port, { egress, timeoutMs: this.timeouts.connectionTimeout }).then(
          (connection) => callback(null, { connection }),
          (error: Error) => callback(error),
        );
      },
    });
    this.transport = { key, transporter };
    return transporter;
  }

  async send(relay: Relay, to: string, notification: Notification): Promise<void> {
    const transporter = await this.transporterFor(relay);
    await transporter.sendMail({
      from: `platform@${this.senderHost()}`,
      to,
      subject: mailSubject(notification),
      text: mailBody(notification),
      headers: { 'X-Platform-Event': notification.event, 'X-Platform-Level': notification.level },
    });
  }

  close(): void {
    this.transport?.transporter.close();
    this.transport = undefined;
  }
}
