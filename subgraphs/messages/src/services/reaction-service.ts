/** Reactions: one emoji per user per message at most once, a bounded number of different ones. */
import { badInput } from '@chat/common';
import { refuse } from '../errors.ts';
import type DataLoader from 'dataloader';
import type { ReactionRecord } from '../store/message-state-store.ts';
import type { MessageRecord } from '../store/message-store.ts';
import type { MessageLike } from './event-types.ts';
import type { MessageAccess, MessageServiceDeps } from './message-access.ts';
import { MAX_REACTIONS_PER_USER, ZEmojiSchema } from './message-input.ts';

export class ReactionService {
  #reactions: DataLoader<string, ReactionRecord[]> | undefined;

  constructor(
    private readonly access: MessageAccess,
    private readonly deps: MessageServiceDeps,
  ) {}

  /** Adds (`add`) or removes the viewer's reaction; announced only when it changed something. */
  async react(messageId: string, emoji: string, add: boolean): Promise<MessageRecord> {
    const viewer = this.access.requireViewer();
    const parsedEmoji = ZEmojiSchema.safeParse(emoji);
    if (!parsedEmoji.success) throw badInput('emoji must be a single emoji.', { argument: 'emoji' });
    const { message } = await this.access.target(messageId, 'messageId');
    if (message.deletedAt) throw refuse('MESSAGE_DELETED', 'The message was deleted.', { argument: 'messageId' });
    const target = { messageId: message.id, chatId: message.chatId };
    let changed: boolean;
    if (add) {
      const outcome = await this.deps.state.react(viewer.id, target, parsedEmoji.data, MAX_REACTIONS_PER_USER);
      if (outcome === 'LIMIT') {
        throw refuse('TOO_MANY_REACTIONS', `At most ${MAX_REACTIONS_PER_USER} different reactions per message.`, {
          argument: 'emoji',
        });
      }
      changed = outcome === 'ADDED';
    } else {
      changed = await this.deps.state.unreact(viewer.id, message.id, parsedEmoji.data);
    }
    if (changed) {
      await this.access.announce({
        type: 'ReactionsChanged',
        chatId: message.chatId,
        message,
        userId: viewer.id,
        emoji: parsedEmoji.data,
        added: add,
      });
    }
    return message;
  }

  /** A message's reactions, with whether the viewer made each. */
  reactions(message: MessageLike): Promise<ReactionRecord[]> {
    const viewer = this.access.requireViewer();
    this.#reactions ??= this.deps.state.reactionsLoader(viewer.id);
    return this.#reactions.load(message.id);
  }
}
