import { log } from '@chat/common';
import { DevOutboxSender, SmtpSender, type MessageSender } from './sender.ts';

export interface SenderSettings {
  /** SMTP for email when set; the development outbox otherwise (and always for SMS). */
  smtpUrl: string | undefined;
  from: string;
  outboxDir: string;
  /**
   * Production without SMTP is allowed (emails go to the outbox) but warned
   * about once, here, at start.
   * @default false
   */
  production?: boolean;
}

/** The sender configuration asks for: SMTP for email when `smtpUrl` is set, the development outbox for the rest. */
export function openMessageSender({ smtpUrl, from, outboxDir, production = false }: SenderSettings): MessageSender {
  const outbox = new DevOutboxSender(outboxDir);
  if (production) {
    if (!smtpUrl)
      log.warn('SMTP_URL is not set: confirmation emails go to the development outbox, not to users', { outboxDir });
    log.warn('no SMS gateway: confirmation text messages go to the development outbox, not to users', { outboxDir });
  }
  return smtpUrl ? new SmtpSender({ url: smtpUrl, from, sms: outbox }) : outbox;
}
