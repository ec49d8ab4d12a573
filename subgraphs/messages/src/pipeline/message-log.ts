/**
 * The durable log that sendMessage appends to before it acknowledges. Once
 * `append` resolves the message is not lost: the pipeline will process it,
 * at least once, in its chat's order.
 */
import type { MessageRecord, PendingMessage } from '../store/message-store.ts';
import type { MessagePipeline } from './message-pipeline.ts';

export interface MessageLog {
  /**
   * @returns the message as placed in its chat, when the log processed it before resolving (the embedded
   * mode); undefined when it is processed after (Kafka), or was dropped
   */
  append(message: PendingMessage): Promise<MessageRecord | undefined>;
  close(): Promise<void>;
}

/**
 * The embedded mode's log: the pipeline runs before `append` resolves, one
 * message at a time per chat, so the acknowledgement means "stored".
 */
export class InProcessMessageLog implements MessageLog {
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(private readonly pipeline: MessagePipeline) {}

  async append(message: PendingMessage): Promise<MessageRecord | undefined> {
    const previous = this.#tails.get(message.chatId) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(() => this.pipeline.process(message));
    this.#tails.set(message.chatId, current);
    try {
      return (await current) ?? undefined;
    } finally {
      if (this.#tails.get(message.chatId) === current) this.#tails.delete(message.chatId);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#tails.values());
  }
}
