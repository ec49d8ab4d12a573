/** Typing indicators: announced to the chat's members, never stored. */
import { requireId } from '@chat/common';
import type { MessageAccess, MessageServiceDeps } from './message-access.ts';

export class TypingService {
  constructor(
    private readonly access: MessageAccess,
    private readonly deps: MessageServiceDeps,
  ) {}

  /** Announces the viewer's typing to the chat's members; nothing is stored. */
  async setTyping(chatId: string, typing: boolean): Promise<boolean> {
    const viewer = this.access.requireViewer();
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    await this.access.requireMember(canonicalChatId);
    const expiresAt = typing ? new Date(Date.now() + this.deps.rules.typingTtlMs).toISOString() : null;
    await this.access.announce({
      type: 'TypingChanged',
      chatId: canonicalChatId,
      userId: viewer.id,
      typing,
      expiresAt,
    });
    return true;
  }
}
