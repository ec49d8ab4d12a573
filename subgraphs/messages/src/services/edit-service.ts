/** Changing a sent message: edits by its sender within a window, deletion for everyone or for the viewer. */
import { forbidden, fromZodError, notFound } from '@chat/common';
import { refuse } from '../errors.ts';
import type { MessageRecord } from '../store/message-store.ts';
import type { MessageAccess, MessageServiceDeps } from './message-access.ts';
import { formatWindow, ZEditMessageInputSchema } from './message-input.ts';

export class EditService {
  constructor(
    private readonly access: MessageAccess,
    private readonly deps: MessageServiceDeps,
  ) {}

  /** Replaces the text of the viewer's own message within the edit window. */
  async editMessage(id: string, text: string): Promise<MessageRecord> {
    const viewer = this.access.requireViewer();
    const parsed = ZEditMessageInputSchema.safeParse({ id, text });
    if (!parsed.success) throw fromZodError(parsed.error);
    const { message } = await this.access.target(parsed.data.id, 'id');
    if (message.kind === 'SYSTEM' || message.senderId !== viewer.id)
      throw forbidden('Only the sender may edit a message.');
    if (message.deletedAt) throw refuse('MESSAGE_DELETED', 'The message was deleted.', { argument: 'id' });
    if (Date.now() - Date.parse(message.createdAt) > this.deps.rules.editWindowMs) {
      throw refuse(
        'EDIT_WINDOW_PASSED',
        `A message may be edited only within ${formatWindow(this.deps.rules.editWindowMs)} of sending it.`,
      );
    }
    if (message.text === parsed.data.text) return message;
    const claim = await this.deps.state.claimEdit(message.id, new Date());
    if (!claim) throw refuse('MESSAGE_DELETED', 'The message was deleted.', { argument: 'id' });
    const edited: MessageRecord = {
      ...message,
      text: parsed.data.text,
      editedAt: claim.editedAt!.toISOString(),
      version: claim.version,
    };
    await this.deps.store.update(edited);
    await this.access.announce({ type: 'MessageEdited', chatId: edited.chatId, message: edited });
    return edited;
  }

  /**
   * For everyone: a tombstone for every member, the content erased (history,
   * the idempotency key's copy, reactions). For the viewer only: hidden from
   * their history, on every device of theirs.
   */
  async deleteMessage(id: string, forEveryone: boolean): Promise<MessageRecord> {
    const viewer = this.access.requireViewer();
    const { message, role } = await this.access.target(id, 'id');
    if (!forEveryone) {
      if (await this.deps.state.hide(viewer.id, { messageId: message.id, chatId: message.chatId })) {
        await this.access.announce({ type: 'MessageDeleted', chatId: message.chatId, message, forEveryone: false }, [
          viewer.id,
        ]);
      }
      return message;
    }
    const isSender = message.kind === 'USER' && message.senderId === viewer.id;
    const isGroupAdmin = (role === 'OWNER' || role === 'ADMIN') && (await this.deps.membership.isGroup(message.chatId));
    if (!isSender && !isGroupAdmin)
      throw forbidden('Only the sender, or an admin of the group, may delete a message for everyone.');
    if (
      !isGroupAdmin &&
      !message.deletedAt &&
      Date.now() - Date.parse(message.createdAt) > this.deps.rules.deleteWindowMs
    ) {
      const window = formatWindow(this.deps.rules.deleteWindowMs);
      throw refuse(
        'DELETE_WINDOW_PASSED',
        `A message may be deleted for everyone only within ${window} of sending it.`,
      );
    }
    const claim = await this.deps.state.claimDelete(message.id, new Date());
    if (!claim?.deletedAt) throw notFound('Message');
    const tombstone: MessageRecord = {
      ...message,
      text: '',
      editedAt: message.editedAt,
      deletedAt: claim.deletedAt.toISOString(),
      version: claim.version,
    };
    // Every step is idempotent: a retry after a failure part-way completes the erasure.
    await this.deps.store.update(tombstone);
    await this.deps.keys.eraseText(message.id);
    await this.deps.state.clearReactions(message.id);
    await this.deps.attachments.detach(message.id);
    if (!message.deletedAt)
      await this.access.announce({
        type: 'MessageDeleted',
        chatId: message.chatId,
        message: tombstone,
        forEveryone: true,
      });
    return tombstone;
  }
}
