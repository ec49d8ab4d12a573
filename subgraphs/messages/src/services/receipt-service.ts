/** Delivery and seen receipts: members mark how far they got; senders see each message's status. */
import { notFound, requireId } from '@chat/common';
import { refuse } from '../errors.ts';
import type DataLoader from 'dataloader';
import type {
  MemberPosition,
  PlacedMessage,
  ReceiptKind,
  ReceiptPositionRecord,
  ReceiptTimes,
} from '../store/message-state-store.ts';
import type { MessageLike } from './event-types.ts';
import { chatNotFound, type MessageAccess, type MessageServiceDeps } from './message-access.ts';

export class ReceiptService {
  #placed: DataLoader<string, PlacedMessage | null> | undefined;
  #positions: DataLoader<string, MemberPosition[]> | undefined;

  constructor(
    private readonly access: MessageAccess,
    private readonly deps: MessageServiceDeps,
  ) {}

  /** markDelivered / markSeen. */
  async markReceipt(kind: ReceiptKind, chatId: string, upToMessageId: string): Promise<ReceiptPositionRecord> {
    const viewer = this.access.requireViewer();
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    const messageId = requireId(upToMessageId, 'upToMessageId').toString();
    await this.access.requireMember(canonicalChatId);
    this.#placed ??= this.deps.state.placedLoader();
    const upTo = await this.#placed.load(messageId);
    if (!upTo || upTo.chatId !== canonicalChatId) throw notFound('Message');
    const result = await this.deps.state.advanceReceipt(kind, viewer.id, upTo, new Date());
    if (result.outcome === 'NOT_A_MEMBER') throw chatNotFound();
    if (result.outcome === 'BACKWARDS') {
      const marked = kind === 'SEEN' ? 'seen' : 'delivered';
      throw refuse(
        'RECEIPT_BACKWARDS',
        `The chat is already marked ${marked} past this message; receipts only move forward.`,
        {
          argument: 'upToMessageId',
        },
      );
    }
    if (result.outcome === 'ADVANCED') await this.access.announce({ type: 'ReceiptsUpdated', ...result.position });
    return result.position;
  }

  /** SENT, DELIVERED or SEEN for the sender; null for everyone else. */
  async status(message: MessageLike): Promise<'SENT' | 'DELIVERED' | 'SEEN' | null> {
    const viewer = this.access.requireViewer();
    if (message.senderId !== viewer.id || message.kind === 'SYSTEM') return null;
    const seq = 'seq' in message ? BigInt(message.seq) : undefined;
    if (seq === undefined) return 'SENT';
    const others = (await this.#positionsIn(message.chatId)).filter((member) => member.userId !== viewer.id);
    if (others.length === 0) return 'SENT';
    if (others.every((member) => member.seenSeq >= seq)) return 'SEEN';
    if (others.every((member) => member.deliveredSeq >= seq)) return 'DELIVERED';
    return 'SENT';
  }

  /** Each other member's receipt of the viewer's message; null for everyone but the sender. */
  async receipts(message: MessageLike): Promise<({ userId: string } & ReceiptTimes)[] | null> {
    const viewer = this.access.requireViewer();
    if (message.senderId !== viewer.id || message.kind === 'SYSTEM') return null;
    const others = (await this.#positionsIn(message.chatId)).filter((member) => member.userId !== viewer.id);
    if (!('seq' in message))
      return others.map((member) => ({ userId: member.userId, deliveredAt: null, seenAt: null }));
    const times = await this.deps.state.receiptTimes(message.chatId, message.seq);
    return others.map((member) => ({
      userId: member.userId,
      ...(times.get(member.userId) ?? { deliveredAt: null, seenAt: null }),
    }));
  }

  #positionsIn(chatId: string): Promise<MemberPosition[]> {
    this.#positions ??= this.deps.state.positionsLoader();
    return this.#positions.load(chatId);
  }
}
