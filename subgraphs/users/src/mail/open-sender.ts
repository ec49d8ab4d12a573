import type { MessageSender } from './sender.ts';

export interface SenderSettings {
  /** SMTP for email when set; the development outbox otherwise (and always for SMS). */
  smtpUrl: string | undefined;
  from: string;
  outboxDir: string;
}

/** The sender configuration asks for. */
export function openMessageSender(_settings: SenderSettings): MessageSender {
  return {
    send: async () => {
      throw new Error('no message sender yet');
    },
    close: async () => {},
  };
}
