/** Sending a message: validated, idempotent per `clientMessageId`, acknowledged once the log has it. */
import { forbidden, fromZodError, requireId } from '@chat/common';
import { refuse } from '../errors.ts';
import { MediaNotAttachableError } from '../store/attachment-store.ts';
import type { MessageRecord, PendingMessage } from '../store/message-store.ts';
import type { MessageAccess, MessageServiceDeps } from './message-access.ts';
import { ZSendMessageInputSchema, type SendMessageInput } from './message-input.ts';

/** A direct chat in which either member blocked the other: neutral, it does not say who blocked whom. */
export const CANNOT_SEND = 'You cannot send messages in this chat.';

export class SendService {
  constructor(
    private readonly access: MessageAccess,
    private readonly deps: MessageServiceDeps,
  ) {}

  /**
   * Validates, checks membership, reserves the idempotency key and appends the
   * message to the log; resolves once the log has it (the acknowledgement),
   * with its place in the chat (`seq`, the cursor) where it is known by then:
   * always in the embedded mode, on a retry once history has it.
   * A retry with the same clientMessageId returns the same message, appending
   * it again only if the first attempt never reached the log.
   * @throws FORBIDDEN in a direct chat where either member blocked the
   * other; nothing is reserved or appended.
   */
  async sendMessage(input: SendMessageInput): Promise<PendingMessage | MessageRecord> {
    const viewer = this.access.requireViewer();
    const parsed = ZSendMessageInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const { chatId, text, clientMessageId, mediaIds } = parsed.data;
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    await this.access.requireMember(canonicalChatId);
    if (mediaIds.length > 0) {
      const ready = await this.deps.attachments.readyAttachments(mediaIds, viewer.id);
      const notReady = mediaIds.filter((id) => !ready.has(id));
      if (notReady.length > 0) {
        throw refuse('MEDIA_NOT_READY', 'Attach only your own uploads once they are READY.', {
          argument: 'input.mediaIds',
          mediaIds: notReady,
        });
      }
    }
    // One more query, for direct chats only: the loader already knows the kind.
    if (
      (await this.access.standingIn(canonicalChatId)).direct &&
      (await this.deps.membership.blockedWithin(canonicalChatId))
    ) {
      throw forbidden(CANNOT_SEND);
    }

    const reservation = await this.deps.keys
      .reserve(
        {
          id: this.deps.nextId().toString(),
          chatId: canonicalChatId,
          senderId: viewer.id,
          text,
          clientMessageId,
          createdAt: new Date().toISOString(),
        },
        mediaIds,
        this.deps.attachments,
      )
      .catch((error: unknown) => {
        // Deleted (never attached for a day) or changed between the check above and the reservation.
        if (error instanceof MediaNotAttachableError)
          throw refuse('MEDIA_NOT_READY', 'Attach only your own uploads once they are READY.', {
            argument: 'input.mediaIds',
            mediaIds,
          });
        throw error;
      });
    const { message } = reservation;
    if (message.chatId !== canonicalChatId) {
      throw refuse('CLIENT_MESSAGE_ID_REUSED', 'clientMessageId was already used for a message in another chat.', {
        argument: 'input.clientMessageId',
      });
    }
    if (!reservation.produced) {
      const placed = await this.deps.messageLog.append(message);
      await this.deps.keys.markProduced(message);
      return placed ?? message;
    }
    // A retry: as placed (with its cursor) once history has it.
    return (await this.deps.store.byIds([message.id]))[0] ?? message;
  }
}
