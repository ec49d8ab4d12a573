/** How emails and text messages leave the service: SMTP, or the development outbox. */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@chat/common';
import { createTransport, type Transporter } from 'nodemailer';

export interface OutgoingMessage {
  channel: 'EMAIL' | 'SMS';
  /** An email address (EMAIL) or an E.164 phone number (SMS). */
  to: string;
  /** The email's subject; an SMS gateway may drop it. */
  subject: string;
  text: string;
}

/**
 * Where messages go. Implementations deliver one message per `send` and
 * throw when it could not be handed over; an SMS gateway plugs in behind
 * this same interface.
 */
export interface MessageSender {
  send(message: OutgoingMessage): Promise<void>;
  /** Releases connections; no `send` after it. */
  close(): Promise<void>;
}

/** What the development outbox holds per message, one JSON file each. */
export interface OutboxEntry extends OutgoingMessage {
  /** ISO-8601 instant the message was written. */
  sentAt: string;
}

/**
 * Writes every message to `dir` (created if missing) as
 * `<epoch-ms>-<random>.json` holding an {@link OutboxEntry}: for development
 * and tests, and for SMS until a gateway is configured. Each file appears
 * whole (written to a temporary name, then renamed), so a reader never sees
 * half a message; temporary files start with a dot.
 */
export class DevOutboxSender implements MessageSender {
  constructor(private readonly dir: string) {}

  async send(message: OutgoingMessage): Promise<void> {
    const sentAt = new Date();
    const entry: OutboxEntry = {
      channel: message.channel,
      to: message.to,
      subject: message.subject,
      text: message.text,
      sentAt: sentAt.toISOString(),
    };
    const name = `${sentAt.getTime()}-${randomBytes(6).toString('hex')}.json`;
    const path = join(this.dir, name);
    const temporary = join(this.dir, `.${name}.tmp`);
    // The messages carry confirmation codes: readable by the owner only.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      await writeFile(temporary, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    log.info('message written to the development outbox', { channel: message.channel, path });
  }

  async close(): Promise<void> {}
}

export interface SmtpSenderOptions {
  /** smtp:// or smtps://, credentials and nodemailer options (query string) in the URL. */
  url: string;
  /** The From header, e.g. `Chat <no-reply@example.com>`. */
  from: string;
  /** Where SMS go: there is no SMS gateway yet. */
  sms: MessageSender;
}

/** Seconds rather than nodemailer's minutes: a request waits for the mail server. The URL may override them. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

/** Sends EMAIL through an SMTP server; hands SMS to `sms`. */
export class SmtpSender implements MessageSender {
  readonly #transport: Transporter;
  readonly #sms: MessageSender;

  constructor({ url, from, sms }: SmtpSenderOptions) {
    this.#transport = createTransport({ url, ...SMTP_TIMEOUTS }, { from });
    this.#sms = sms;
  }

  async send(message: OutgoingMessage): Promise<void> {
    if (message.channel === 'SMS') return this.#sms.send(message);
    const info = await this.#transport.sendMail({ to: message.to, subject: message.subject, text: message.text });
    log.info('email handed to the SMTP server', { messageId: info.messageId });
  }

  async close(): Promise<void> {
    this.#transport.close();
    await this.#sms.close();
  }
}
