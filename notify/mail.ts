// Mail through the node's relay (notify emailrelay), with nodemailer: one
// connection pool per relay, STARTTLS whenever the relay offers it, sender
// platform@<hostname>. Every wait is bounded, so a relay that never answers
// is a failed attempt, retried later by the outbox.

import type { Transporter } from 'nodemailer';
import { mailBody, mailSubject, type Notification } from './message.js';
import { defaultPort } from '../catalog/derive.js';

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
  ) {}

  private async transporterFor(relay: Relay): Promise<Transporter> {
    const key = `${relay.host}:${relay.port}:${this.senderHost()}`;
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
