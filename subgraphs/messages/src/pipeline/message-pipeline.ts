/**
 * What happens to an acknowledged message, in its chat's order: place it
 * (sequence number, chat state, unread counts: Postgres), store it in the
 * history (MessageStore), announce it to every member's devices (pub/sub).
 * Each step is idempotent by message ID, so a message processed again after a
 * crash is neither stored nor counted twice; announcing it again is harmless,
 * since subscribers drop an event whose `seq` they have already seen.
 *
 * The embedded mode runs this inside sendMessage (InProcessMessageLog); the
 * distributed mode runs it in consumer processes reading the Kafka log.
 */
import { log, Topics, type ChatEventRecord, type PubSubEngine } from '@chat/common';
import { placedRecord, type MessageRecord, type MessageStore, type PendingMessage } from '../store/message-store.ts';
import type { ChatSequencer } from '../store/sequencer.ts';
import type { MemberCache } from './member-cache.ts';

export class MessagePipeline {
  constructor(
    private readonly sequencer: ChatSequencer,
    private readonly history: MessageStore,
    private readonly members: MemberCache,
    private readonly pubsub: PubSubEngine,
  ) {}

  /** @returns the placed message, or null when its chat no longer exists (the message is dropped). */
  async process(message: PendingMessage): Promise<MessageRecord | null> {
    const placement = await this.sequencer.place(message);
    if (!placement) {
      log.warn('dropping a message for a chat that does not exist', { messageId: message.id, chatId: message.chatId });
      return null;
    }
    let placed = placedRecord(message, placement.seq);
    await this.history.write(placed);
    if (!placement.first) {
      // A redelivery: the message may have been edited or deleted since; announce what history holds now.
      placed = (await this.history.byIds([message.id]))[0] ?? placed;
    }
    const memberIds = await this.members.memberIds(message.chatId);
    const event: ChatEventRecord = { type: 'MessageAdded', chatId: message.chatId, message: placed };
    await Promise.all(memberIds.map((memberId) => this.pubsub.publish(Topics.userEvents(memberId), event)));
    return placed;
  }
}
