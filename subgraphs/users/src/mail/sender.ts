/** How emails and text messages leave the service: SMTP, or the development outbox. */

export interface OutgoingMessage {
  channel: 'EMAIL' | 'SMS';
  to: string;
  subject: string;
  text: string;
}

export interface MessageSender {
  send(message: OutgoingMessage): Promise<void>;
  close(): Promise<void>;
}
