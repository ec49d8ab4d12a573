/**
 * Who may see which chats and messages, per request, and how a change is
 * announced to the members' devices (`Topics.userEvents`). Every capability
 * service of the subgraph works through one `MessageAccess` per request, so
 * a chat's membership is looked up once per operation, for the permission
 * rule and all of them.
 */
import {
  apiError,
  notFound,
  parseId,
  requireId,
  Topics,
  unauthenticated,
  type ChatEventRecord,
  type PubSubEngine,
  type Viewer,
} from '@chat/common';
import DataLoader from 'dataloader';
import type { MessageLog } from '../pipeline/message-log.ts';
import type { AttachmentStore } from '../store/attachment-store.ts';
import { isMember, type ChatAccess, type ChatStanding, type MembershipStore } from '../store/membership-store.ts';
import type { MessageStateStore } from '../store/message-state-store.ts';
import type { MessageRecord, MessageStore } from '../store/message-store.ts';
import type { SendKeyStore } from '../store/send-key-store.ts';

/**
 * A chat the viewer is not in answers exactly as one that does not exist
 * (code and message), and so does a message of such a chat: IDs cannot be
 * probed. docs/SECURITY.md.
 */
export const chatNotFound = () => notFound('Chat');
export const messageNotFound = () => notFound('Message');

/** Timing rules, from configuration. */
export interface MessageRules {
  /** How long after sending the sender may edit. */
  editWindowMs: number;
  /** How long after sending the sender may delete for everyone (group owners and admins: always). */
  deleteWindowMs: number;
  /** How long `setTyping(typing: true)` lasts unless repeated. */
  typingTtlMs: number;
}

/** What the services work with, shared by every request. */
export interface MessageServiceDeps {
  store: MessageStore;
  membership: MembershipStore;
  keys: SendKeyStore;
  attachments: AttachmentStore;
  state: MessageStateStore;
  messageLog: MessageLog;
  pubsub: PubSubEngine;
  nextId: () => bigint;
  rules: MessageRules;
  /** How long a change waits for its message to reach history (distributed mode) before answering UNAVAILABLE. */
  placementWaitMs?: number;
}

/** A member's role in a chat: what `requireMember` answers. */
export type MemberRole = Exclude<ChatAccess, 'MISSING' | 'NOT_MEMBER'>;

/**
 * Per request (per subscription for `chatEvents`): holds the viewer and the
 * request's look-ups. The loaders batch but do not cache: a subscription
 * resolves every event in the one context it was opened with, and each event
 * must show the state after its change.
 */
export class MessageAccess {
  #access: DataLoader<string, ChatStanding> | undefined;
  #messages: DataLoader<string, MessageRecord | null> | undefined;

  constructor(
    readonly viewer: Viewer | null,
    private readonly deps: MessageServiceDeps,
  ) {}

  /** @throws UNAUTHENTICATED without a viewer. */
  requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /**
   * The viewer's access to a chat, and its kind: looked up once per chat per
   * operation, and shared by the operation's permission rule
   * (permissions.ts) and the services' own checks. Never kept beyond the
   * operation, so a change of membership shows in the next one.
   * @throws UNAUTHENTICATED without a viewer.
   */
  standingIn(chatId: string): Promise<ChatStanding> {
    const viewer = this.requireViewer();
    this.#access ??= this.deps.membership.accessLoader(viewer.id);
    return this.#access.load(chatId);
  }

  /**
   * @throws `refusal()` (by default NOT_FOUND for the chat) when the chat does
   * not exist or the viewer is not a member: one answer for both.
   * @returns the viewer's role.
   */
  async requireMember(chatId: string, refusal = chatNotFound): Promise<MemberRole> {
    const { access } = await this.standingIn(chatId);
    if (!isMember(access)) throw refusal();
    return access;
  }

  /** Announces an event to every member of its chat (every device of theirs), or to `only` these users. */
  async announce(event: ChatEventRecord, only?: readonly string[]): Promise<void> {
    const userIds = only ?? (await this.deps.membership.memberIds(event.chatId));
    await Promise.all(userIds.map((userId) => this.deps.pubsub.publish(Topics.userEvents(userId), event)));
  }

  /** A Message entity by ID, for the gateway: null when unknown or in a chat the viewer is not in. */
  async messageById(id: string): Promise<MessageRecord | null> {
    this.requireViewer();
    const parsed = parseId(id);
    if (parsed === undefined) return null;
    this.#messages ??= new DataLoader((ids) => this.deps.store.byIds(ids), { cache: false });
    const message = await this.#messages.load(parsed.toString());
    if (!message || !isMember((await this.standingIn(message.chatId)).access)) return null;
    return message;
  }

  /** A message of a receipt position, or null. */
  async messageOrNull(id: string | null): Promise<MessageRecord | null> {
    return id === null ? null : this.messageById(id);
  }

  /**
   * The message `id` in history, for a change to it, with the viewer's role
   * in its chat. In the distributed mode a message is acknowledged a moment
   * before it is placed in history; a change that comes that early waits for
   * it, then answers UNAVAILABLE (retryable) rather than NOT_FOUND.
   * @throws NOT_FOUND for an unknown message and for one in a chat the viewer is not in, alike.
   */
  async target(id: string, argument: string): Promise<{ message: MessageRecord; role: MemberRole }> {
    this.requireViewer();
    const messageId = requireId(id, argument).toString();
    const deadline = Date.now() + (this.deps.placementWaitMs ?? 2_000);
    for (;;) {
      const [message] = await this.deps.store.byIds([messageId]);
      if (message) return { message, role: await this.requireMember(message.chatId, messageNotFound) };
      const pending = await this.deps.keys.findByMessageId(messageId);
      if (!pending) throw messageNotFound();
      await this.requireMember(pending.chatId, messageNotFound);
      if (Date.now() > deadline) {
        throw apiError('UNAVAILABLE', 'The message is still being delivered; retry in a moment.', { retryable: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
