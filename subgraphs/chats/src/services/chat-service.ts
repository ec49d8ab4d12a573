/**
 * Who may create, see and change chats, and the rules for doing so.
 *
 * Groups: the OWNER may add members, remove anyone but themselves, make
 * others ADMIN or MEMBER, and rename; an ADMIN may add members, remove
 * MEMBERs and rename; a MEMBER may only leave. An OWNER who leaves hands
 * ownership to the longest-standing ADMIN, or else MEMBER. A group has at
 * most MAX_GROUP_MEMBERS members, its owner included.
 *
 * Every change runs in one transaction that locks the chat's row (so the
 * limit holds under concurrency), writes a SYSTEM message to the outbox in
 * that same transaction, and once committed is announced on pub/sub.
 *
 * Direct chats: `createDirectChat` refuses two users of whom either blocked
 * the other, and with DIRECT_CHAT_POLICY=connections two users who are not
 * connected, even when their chat exists already.
 *
 * Consent: a user joins a group only if their `groupAddPolicy` lets the adder
 * add them; otherwise they are invited, and join when they accept
 * (group-admission.ts). An invitee is not a member: they are in no member
 * list or count, receive nothing of the chat and share no presence through it.
 */
import {
  apiError,
  badInput,
  decodeCursor,
  encodeCursor,
  forbidden,
  fromZodError,
  heirOf,
  log,
  notFound,
  pageSize,
  parseDateTime,
  parseId,
  requireId,
  toConnection,
  Topics,
  unauthenticated,
  type ChatEventRecord,
  type Connection,
  type PubSubEngine,
  type Snowflake,
  type SystemEventRecord,
  type Viewer,
} from '@chat/common';
import type DataLoader from 'dataloader';
import type { ChatsConfig } from '../env.ts';
import type { output, ZodType } from 'zod';
import {
  directKey,
  type ChatMemberRecord,
  type ChatPosition,
  type ChatRecord,
  type ChatRole,
  type ChatStore,
  type GroupInvitationRecord,
  type InvitationPosition,
  type LockedChat,
} from '../store/chat-store.ts';
import {
  MAX_GROUP_MEMBERS,
  ZAddChatMembersInputSchema,
  ZCreateGroupChatInputSchema,
  ZRemoveChatMemberInputSchema,
  ZRenameChatInputSchema,
  ZSetChatMemberRoleInputSchema,
} from './chat-input.ts';
import { refuse } from '../errors.ts';
import { admit, invitationCutoff, invitationNotFound, REINVITE_WAIT_MS } from './group-admission.ts';
import { renderSystemText } from './system-text.ts';

/**
 * A chat the viewer is not in answers exactly as one that does not exist
 * (code and message): chat IDs cannot be probed. docs/SECURITY.md.
 */
export const chatNotFound = () => notFound('Chat');

/** Who may have a direct chat with whom: `anyone` (unless either blocked the other), or `connections` only. */
export type DirectChatPolicy = ChatsConfig['chats']['directChatPolicy'];

/** A block between the two, in either direction: neutral, it does not say who blocked whom. */
const cannotChat = () => forbidden('You cannot start a chat with this user.');

/** DIRECT_CHAT_POLICY=connections and the two are not connected: FORBIDDEN, reason NOT_CONNECTED. */
const notConnected = () => refuse('NOT_CONNECTED', 'You can start a direct chat only with your connections.');

/** A group operation on a direct chat: BAD_USER_INPUT, reason NOT_A_GROUP. */
export const notAGroup = () => refuse('NOT_A_GROUP', 'This is a direct chat, not a group.');

/** Past the member limit: BAD_USER_INPUT, reason GROUP_FULL. */
export const groupFull = (members: number, joining: number) =>
  refuse(
    'GROUP_FULL',
    `A group has at most ${MAX_GROUP_MEMBERS} members; this one has ${members}, and ${joining} more would join.`,
    {
      limit: MAX_GROUP_MEMBERS,
    },
  );

/** NOT_FOUND for a user who is not a member of the chat. */
function memberNotFound(userId: bigint): Error {
  return apiError('NOT_FOUND', `User ${userId} is not a member of this chat.`, { userIds: [userId.toString()] });
}

/** What a committed change announces: its SYSTEM events, to the members before and after it. */
interface Change<T> {
  result: T;
  /** Empty when the request changed nothing (adding members already in, say). */
  events: SystemEventRecord[];
  recipients: readonly string[];
  /** Users the change invited, and by whom: each invitee hears GroupInvitationReceived. */
  invitations?: { userIds: readonly string[]; inviterId: string };
}

const MEMBERSHIP_ACTIONS = new Set<SystemEventRecord['action']>([
  'MEMBERS_ADDED',
  'MEMBER_REMOVED',
  'MEMBER_LEFT',
  'ROLE_CHANGED',
]);

/** The chat event subscribers receive for a SYSTEM event (none for CHAT_CREATED). */
function chatEventOf(chatId: string, event: SystemEventRecord): ChatEventRecord | null {
  switch (event.action) {
    case 'MEMBERS_ADDED':
    case 'MEMBER_REMOVED':
    case 'MEMBER_LEFT':
    case 'ROLE_CHANGED':
      return {
        type: 'MembershipChanged',
        chatId,
        action: event.action,
        actorId: event.actorId,
        userIds: event.userIds,
        role: event.role ?? null,
      };
    case 'CHAT_RENAMED':
      return { type: 'ChatRenamed', chatId, actorId: event.actorId, title: event.title ?? '' };
    case 'CHAT_CREATED':
      return null;
  }
}

function cursorOf(chat: ChatRecord): string {
  return encodeCursor([chat.lastActivityAt.toISOString(), chat.id]);
}

function invitationCursorOf(invitation: GroupInvitationRecord): string {
  return encodeCursor([invitation.invitedAt.toISOString(), invitation.chatId]);
}

/** @throws BAD_USER_INPUT for a cursor that `invitationCursorOf` did not make. */
function invitationPositionOf(cursor: string): InvitationPosition {
  const [at = '', id = ''] = decodeCursor(cursor, 2);
  const invitedAt = parseDateTime(at);
  const chatId = parseId(id);
  if (invitedAt === undefined || chatId === undefined) throw badInput('Invalid cursor.');
  return { invitedAt, chatId };
}

/** @throws BAD_USER_INPUT for a cursor that `cursorOf` did not make. */
function positionOf(cursor: string): ChatPosition {
  const [at = '', id = ''] = decodeCursor(cursor, 2);
  const lastActivityAt = parseDateTime(at);
  const chatId = parseId(id);
  if (lastActivityAt === undefined || chatId === undefined) throw badInput('Invalid cursor.');
  return { lastActivityAt, id: chatId };
}

/** The viewer's data export, as this subgraph knows it: its key. */
export interface DataExportRef {
  userId: string;
}

export class ChatService {
  readonly #chats: DataLoader<string, ChatRecord | null>;
  readonly #members: DataLoader<string, ChatMemberRecord[]>;
  readonly #memberCounts: DataLoader<string, number>;
  /** The viewer's membership by chat ID; null without a viewer. */
  readonly #membership: DataLoader<string, ChatMemberRecord | null> | null;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: ChatStore,
    private readonly ids: Snowflake,
    private readonly pubsub: PubSubEngine,
    private readonly directChatPolicy: DirectChatPolicy = 'anyone',
  ) {
    this.#chats = store.chatLoader();
    this.#members = store.membersLoader();
    this.#memberCounts = store.memberCountLoader();
    this.#membership = viewer ? store.membershipLoader(viewer.id) : null;
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /** The viewer's membership of `chatId`, or null. */
  async #membershipOf(chatId: string): Promise<ChatMemberRecord | null> {
    this.#requireViewer();
    return this.#membership ? this.#membership.load(chatId) : null;
  }

  /** The chat if it exists and the viewer is a member of it, else null. */
  async #visible(chatId: string): Promise<ChatRecord | null> {
    const chat = await this.#chats.load(chatId);
    return chat && (await this.#membershipOf(chat.id)) ? chat : null;
  }

  /** `chat(id)`: NOT_FOUND when there is no such chat or the viewer is not a member (one answer for both). */
  async chat(id: string): Promise<ChatRecord> {
    this.#requireViewer();
    const chat = await this.#visible(requireId(id, 'id').toString());
    if (!chat) throw chatNotFound();
    return chat;
  }

  /**
   * A Chat entity the gateway asks for, e.g. for a subscription event of this
   * viewer: null when there is no such chat or the viewer is not a member.
   */
  async chatReference(id: string): Promise<ChatRecord | null> {
    this.#requireViewer();
    const chatId = parseId(id);
    if (chatId === undefined) return null;
    return this.#visible(chatId.toString());
  }

  /** The viewer's chats, most recently active first. */
  async chats(first: number | null | undefined, after: string | null | undefined): Promise<Connection<ChatRecord>> {
    const viewer = this.#requireViewer();
    const size = pageSize(first);
    const position = after === null || after === undefined ? null : positionOf(after);
    const rows = await this.store.pageOfMember(viewer.id, size + 1, position);
    for (const { chat, membership } of rows) {
      this.#chats.prime(chat.id, chat);
      this.#membership?.prime(chat.id, membership);
    }
    return toConnection(
      rows,
      size,
      ({ chat }) => cursorOf(chat),
      ({ chat }) => chat,
    );
  }

  members(chat: ChatRecord): Promise<ChatMemberRecord[]> {
    return this.#members.load(chat.id);
  }

  memberCount(chat: ChatRecord): Promise<number> {
    return this.#memberCounts.load(chat.id);
  }

  /** @throws NOT_FOUND when the viewer is not a member (any more), as for any chat they are not in. */
  async viewerRole(chat: ChatRecord): Promise<ChatRole> {
    const membership = await this.#membershipOf(chat.id);
    if (!membership) throw chatNotFound();
    return membership.role;
  }

  /** Messages from others the viewer has not read; 0 when not a member. */
  async unreadCount(chat: ChatRecord): Promise<number> {
    return (await this.#membershipOf(chat.id))?.unreadCount ?? 0;
  }

  /**
   * The one direct chat of the viewer and `userId`, created on first use.
   * Concurrent calls for the same pair (from either side) agree on one chat:
   * the pair's key is unique, and the loser of a race reads the winner's chat.
   * @throws FORBIDDEN when either blocked the other; with the `connections`
   * policy, FORBIDDEN (reason NOT_CONNECTED) unless the two are connected;
   * both also for a chat that exists already.
   */
  async createDirectChat(userId: string): Promise<ChatRecord> {
    const viewer = this.#requireViewer();
    const me = requireId(viewer.id, 'viewer');
    const other = requireId(userId, 'userId');
    if (other === me) throw badInput('You cannot start a direct chat with yourself.', { argument: 'userId' });
    if (!(await this.store.existingUserIds([other])).has(other.toString())) throw notFound(`User ${other}`);
    const { blocked, connected } = await this.store.relationship(me, other);
    // A block implies not connected: under the connections policy a blocked user gets a stranger's answer.
    if (this.directChatPolicy === 'connections' && !connected) throw notConnected();
    if (blocked) throw cannotChat();
    const key = directKey(me, other);
    const existing = await this.store.findByDirectKey(key);
    if (existing) return existing;
    const created = await this.store.insert({
      id: this.ids.next(),
      kind: 'DIRECT',
      title: null,
      directKey: key,
      createdById: me,
      at: new Date(),
      members: [
        { userId: me, role: 'MEMBER' },
        { userId: other, role: 'MEMBER' },
      ],
    });
    const chat = created ?? (await this.store.findByDirectKey(key));
    if (!chat) throw new Error(`direct chat ${key} vanished after a unique violation`);
    return chat;
  }

  /**
   * A group of the viewer (OWNER) and the named users: MEMBERs where their
   * policy lets the viewer add them, invited otherwise (group-admission.ts).
   * @throws NOT_FOUND for unknown users and users who blocked the viewer;
   * BAD_USER_INPUT (reason BLOCKED) for users the viewer blocked.
   */
  async createGroupChat(input: { title: string; memberIds: readonly string[] }): Promise<ChatRecord> {
    const viewer = this.#requireViewer();
    const { title, memberIds } = this.#parse(ZCreateGroupChatInputSchema, {
      viewerId: viewer.id,
      title: input.title,
      memberIds: input.memberIds,
    });
    const me = requireId(viewer.id, 'viewer');
    const admission = admit(memberIds, await this.store.standings(me, memberIds), 'input.memberIds');
    const id = this.ids.next();
    const at = new Date();
    const event: SystemEventRecord = { action: 'CHAT_CREATED', actorId: viewer.id, userIds: [], title };
    const chat = await this.store.insert({
      id,
      kind: 'GROUP',
      title,
      directKey: null,
      createdById: me,
      at,
      members: [
        { userId: me, role: 'OWNER' },
        ...admission.members.map((userId) => ({ userId, role: 'MEMBER' as const })),
      ],
      invited: admission.invited,
      systemMessage: {
        id: this.ids.next(),
        chatId: id,
        actorId: me,
        text: renderSystemText(event, await this.store.displayNames([me])),
        system: JSON.stringify(event),
        at,
      },
    });
    if (!chat) throw new Error('a group chat cannot conflict on a direct key');
    await this.#announce(chat.id, {
      result: chat,
      events: [event],
      recipients: [],
      invitations: { userIds: admission.invited.map(String), inviterId: viewer.id },
    });
    return chat;
  }

  /**
   * Adds users to a group as MEMBER (OWNER or ADMIN only) where their policy
   * lets the viewer add them, and invites the others (group-admission.ts).
   * Users already in it, and users with a pending invitation or who declined
   * one from this group in the last REINVITE_WAIT_MS, are skipped; a call
   * that adds and invites nobody changes nothing.
   * @throws NOT_FOUND naming unknown users and users who blocked the viewer;
   * BAD_USER_INPUT with reason BLOCKED for users the viewer blocked, with
   * reason GROUP_FULL when members and pending invitations would pass
   * MAX_GROUP_MEMBERS.
   */
  async addMembers(chatId: string, userIds: readonly string[]): Promise<ChatRecord> {
    this.#requireViewer();
    const input = this.#parse(ZAddChatMembersInputSchema, { chatId, userIds });
    return this.#changeGroup(input.chatId, async (group, me) => {
      if (me.role === 'MEMBER') throw forbidden('Only the owner and admins may add members.');
      const current = new Set(group.members.map((member) => member.userId));
      // Members stay members, blocks or not (a block does not end a shared group).
      const outside = input.userIds.filter((id) => !current.has(id.toString()));
      const admission = admit(outside, await group.standings(BigInt(me.userId), outside), 'userIds');
      const at = new Date();
      const joining = admission.members;
      const inviting = await this.#newInvitations(group, admission.invited, at);
      if (joining.length === 0 && inviting.length === 0) return { result: group.chat, events: [], recipients: [] };
      const pending = await group.pendingInvitationCount(invitationCutoff(at));
      const size = group.members.length + pending;
      if (size + joining.length + inviting.length > MAX_GROUP_MEMBERS)
        throw groupFull(size, joining.length + inviting.length);
      await group.invite(inviting, BigInt(me.userId), at);
      const invitations = { userIds: inviting.map(String), inviterId: me.userId };
      if (joining.length === 0) return { result: group.chat, events: [], recipients: [], invitations };
      await group.addMembers(joining, at);
      // Joining directly answers any invitation they had.
      await group.dropInvitations(joining);
      const event: SystemEventRecord = { action: 'MEMBERS_ADDED', actorId: me.userId, userIds: joining.map(String) };
      await this.#record(group, [event], at);
      return { result: group.chat, events: [event], recipients: [...current, ...event.userIds], invitations };
    });
  }

  /**
   * The invitees (not members) to invite now: those without a pending
   * invitation to this group, and not having declined one in REINVITE_WAIT_MS.
   */
  async #newInvitations(group: LockedChat, candidates: readonly bigint[], at: Date): Promise<bigint[]> {
    const previous = new Map(
      (await group.invitationsOf(candidates)).map((invitation) => [invitation.userId, invitation]),
    );
    const cutoff = invitationCutoff(at);
    return candidates.filter((id) => {
      const invitation = previous.get(id.toString());
      if (!invitation) return true;
      if (invitation.declinedAt) return at.getTime() - invitation.declinedAt.getTime() >= REINVITE_WAIT_MS;
      return invitation.createdAt <= cutoff;
    });
  }

  /** The viewer's pending invitations, newest first. */
  async invitations(
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<Connection<GroupInvitationRecord>> {
    const viewer = this.#requireViewer();
    const size = pageSize(first);
    const position = after === null || after === undefined ? null : invitationPositionOf(after);
    const rows = await this.store.invitationsOfUser(viewer.id, invitationCutoff(new Date()), size + 1, position);
    return toConnection(rows, size, invitationCursorOf, (row) => row);
  }

  /** A GroupInvitation entity (a `GroupInvitationReceived` event's): the viewer's pending invitation to `chatId`, or null. */
  async invitationReference(chatId: string): Promise<GroupInvitationRecord | null> {
    const viewer = this.#requireViewer();
    const id = parseId(chatId);
    return id === undefined ? null : this.store.pendingInvitation(id, viewer.id, invitationCutoff(new Date()));
  }

  /**
   * The viewer accepts their invitation to a group and joins it as MEMBER;
   * the history records that the inviter added them.
   * @throws NOT_FOUND without a pending invitation; BAD_USER_INPUT (reason
   * GROUP_FULL) when the group is full.
   */
  async acceptInvitation(chatId: string): Promise<ChatRecord> {
    const viewer = this.#requireViewer();
    const id = requireId(chatId, 'chatId');
    const me = BigInt(viewer.id);
    return this.#change(id, async (group) => {
      const at = new Date();
      const [invitation] = group ? await group.invitationsOf([me]) : [];
      if (!group || !invitation || invitation.declinedAt || invitation.createdAt <= invitationCutoff(at))
        throw invitationNotFound();
      await group.dropInvitations([me]);
      const current = group.members.map((member) => member.userId);
      if (current.includes(viewer.id)) return { result: group.chat, events: [], recipients: [] };
      if (group.members.length + 1 > MAX_GROUP_MEMBERS) throw groupFull(group.members.length, 1);
      await group.addMembers([me], at);
      const event: SystemEventRecord = { action: 'MEMBERS_ADDED', actorId: invitation.inviterId, userIds: [viewer.id] };
      await this.#record(group, [event], at);
      return { result: group.chat, events: [event], recipients: [...current, viewer.id] };
    });
  }

  /**
   * The viewer declines their invitation to a group. The group may invite
   * them again after REINVITE_WAIT_MS. @returns the chat's ID.
   * @throws NOT_FOUND without a pending invitation.
   */
  async declineInvitation(chatId: string): Promise<string> {
    const viewer = this.#requireViewer();
    const id = requireId(chatId, 'chatId');
    const now = new Date();
    if (!(await this.store.declineInvitation(id, viewer.id, invitationCutoff(now), now))) throw invitationNotFound();
    return id.toString();
  }

  /**
   * Removes a member: the OWNER anyone but themselves, an ADMIN only MEMBERs.
   * @throws FORBIDDEN for removing yourself (leaveChat is for that).
   */
  async removeMember(chatId: string, userId: string): Promise<ChatRecord> {
    const viewer = this.#requireViewer();
    const input = this.#parse(ZRemoveChatMemberInputSchema, { chatId, userId });
    return this.#changeGroup(input.chatId, async (group, me) => {
      if (input.userId.toString() === viewer.id) throw forbidden('You cannot remove yourself; leave the chat instead.');
      if (me.role === 'MEMBER') throw forbidden('Only the owner and admins may remove members.');
      const target = group.members.find((member) => member.userId === input.userId.toString());
      if (!target) throw memberNotFound(input.userId);
      if (me.role === 'ADMIN' && target.role !== 'MEMBER') throw forbidden('Admins may remove only members.');
      const at = new Date();
      await group.removeMember(input.userId);
      const event: SystemEventRecord = { action: 'MEMBER_REMOVED', actorId: me.userId, userIds: [target.userId] };
      await this.#record(group, [event], at);
      return { result: group.chat, events: [event], recipients: group.members.map((member) => member.userId) };
    });
  }

  /**
   * The viewer leaves a group. An OWNER hands ownership to the
   * longest-standing ADMIN, else MEMBER; the last member leaves an empty chat.
   * @returns the chat's ID.
   */
  async leave(chatId: string): Promise<string> {
    this.#requireViewer();
    const id = requireId(chatId, 'chatId');
    return this.#changeGroup(id, async (group, me) => {
      const at = new Date();
      await group.removeMember(BigInt(me.userId));
      const events: SystemEventRecord[] = [{ action: 'MEMBER_LEFT', actorId: me.userId, userIds: [me.userId] }];
      const heir = me.role === 'OWNER' ? heirOf(group.members, me.userId) : undefined;
      if (heir) {
        await group.setRole(BigInt(heir.userId), 'OWNER');
        events.push({ action: 'ROLE_CHANGED', actorId: me.userId, userIds: [heir.userId], role: 'OWNER' });
      }
      await this.#record(group, events, at);
      return { result: group.chat.id, events, recipients: group.members.map((member) => member.userId) };
    });
  }

  /** Makes another member ADMIN or MEMBER (OWNER only); their current role changes nothing. */
  async setMemberRole(chatId: string, userId: string, role: ChatRole): Promise<ChatRecord> {
    const viewer = this.#requireViewer();
    const input = this.#parse(ZSetChatMemberRoleInputSchema, { viewerId: viewer.id, chatId, userId, role });
    return this.#changeGroup(input.chatId, async (group, me) => {
      if (me.role !== 'OWNER') throw forbidden('Only the owner may change roles.');
      const target = group.members.find((member) => member.userId === input.userId.toString());
      if (!target) throw memberNotFound(input.userId);
      if (target.role === input.role) return { result: group.chat, events: [], recipients: [] };
      const at = new Date();
      await group.setRole(input.userId, input.role);
      const event: SystemEventRecord = {
        action: 'ROLE_CHANGED',
        actorId: me.userId,
        userIds: [target.userId],
        role: input.role,
      };
      await this.#record(group, [event], at);
      return { result: group.chat, events: [event], recipients: group.members.map((member) => member.userId) };
    });
  }

  /** Renames a group (OWNER or ADMIN); the current title changes nothing. */
  async rename(chatId: string, title: string): Promise<ChatRecord> {
    this.#requireViewer();
    const input = this.#parse(ZRenameChatInputSchema, { chatId, title });
    return this.#changeGroup(input.chatId, async (group, me) => {
      if (me.role === 'MEMBER') throw forbidden('Only the owner and admins may rename the group.');
      if (group.chat.title === input.title) return { result: group.chat, events: [], recipients: [] };
      const at = new Date();
      const renamed = await group.rename(input.title);
      const event: SystemEventRecord = { action: 'CHAT_RENAMED', actorId: me.userId, userIds: [], title: input.title };
      await this.#record(group, [event], at);
      return { result: renamed, events: [event], recipients: group.members.map((member) => member.userId) };
    });
  }

  /** @throws BAD_USER_INPUT listing every problem of `input`. */
  #parse<S extends ZodType>(schema: S, input: unknown): output<S> {
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    return parsed.data;
  }

  /**
   * Runs `work` on a group under its row lock, once the viewer is known to
   * be a member of a group: NOT_FOUND for no such chat and for a non-member
   * alike, BAD_USER_INPUT (NOT_A_GROUP) for a direct chat. Whatever
   * `work` throws changes nothing; what it changed is announced once committed.
   */
  async #changeGroup<T>(
    chatId: bigint,
    work: (group: LockedChat, me: ChatMemberRecord) => Promise<Change<T>>,
  ): Promise<T> {
    const viewer = this.#requireViewer();
    return this.#change(chatId, async (group) => {
      const me = group?.members.find((member) => member.userId === viewer.id);
      if (!group || !me) throw chatNotFound();
      if (group.chat.kind !== 'GROUP') throw notAGroup();
      return work(group, me);
    });
  }

  /** Runs `work` on a chat under its row lock (null: no such chat); once committed, announces what it changed. */
  async #change<T>(chatId: bigint, work: (group: LockedChat | null) => Promise<Change<T>>): Promise<T> {
    const change = await this.store.change(chatId, work);
    // Later fields of this operation read the chat as it is now.
    const key = chatId.toString();
    this.#chats.clear(key);
    this.#members.clear(key);
    this.#memberCounts.clear(key);
    this.#membership?.clear(key);
    await this.#announce(key, change);
    return change.result;
  }

  /** Writes one SYSTEM message per event to the outbox, in the change's transaction. */
  async #record(group: LockedChat, events: readonly SystemEventRecord[], at: Date): Promise<void> {
    const people = new Set(events.flatMap((event) => [event.actorId, ...event.userIds]));
    const names = await group.displayNames([...people].map(BigInt));
    await group.writeSystemMessages(
      events.map((event) => ({
        id: this.ids.next(),
        chatId: BigInt(group.chat.id),
        actorId: BigInt(event.actorId),
        text: renderSystemText(event, names),
        system: JSON.stringify(event),
        at,
      })),
    );
  }

  /**
   * After the commit: wakes the outbox relay, tells member caches, and sends
   * each event to every recipient's devices. The change is committed by now,
   * so a failure here is logged rather than reported as a failed change: the
   * relay also polls the outbox, and clients reload on reconnecting.
   */
  async #announce(chatId: string, change: Change<unknown>): Promise<void> {
    const invitees = change.invitations?.userIds ?? [];
    if (change.events.length === 0 && invitees.length === 0) return;
    const chatEvents = change.events.flatMap((event) => chatEventOf(chatId, event) ?? []);
    try {
      if (change.invitations && invitees.length > 0) {
        const invitation: ChatEventRecord = {
          type: 'GroupInvitationReceived',
          chatId,
          inviterId: change.invitations.inviterId,
        };
        await Promise.all(invitees.map((userId) => this.pubsub.publish(Topics.userEvents(userId), invitation)));
      }
      if (change.events.length === 0) return;
      await this.pubsub.publish(Topics.outbox, {});
      if (change.events.some((event) => MEMBERSHIP_ACTIONS.has(event.action))) {
        await this.pubsub.publish(Topics.membersChanged, { chatId });
      }
      await Promise.all(
        [...new Set(change.recipients)].map(async (userId) => {
          for (const event of chatEvents) await this.pubsub.publish(Topics.userEvents(userId), event);
        }),
      );
    } catch (error) {
      log.warn('could not announce a committed chat change', { chatId, error });
    }
  }

  /** The export entity, for the viewer's own export only. */
  exportReference(userId: string): DataExportRef {
    if (this.#requireViewer().id !== userId) throw forbidden('Only your own data can be exported.');
    return { userId };
  }

  /** Every chat of the viewer, most recently active first (for their data export). */
  async allOfViewer(userId: string): Promise<ChatRecord[]> {
    const viewer = this.#requireViewer();
    if (viewer.id !== userId) throw forbidden('Only your own data can be exported.');
    const all: ChatRecord[] = [];
    let position: ChatPosition | null = null;
    for (;;) {
      const rows = await this.store.pageOfMember(viewer.id, 500, position);
      for (const { chat, membership } of rows) {
        this.#membership?.prime(chat.id, membership);
        all.push(chat);
      }
      const last = rows.at(-1);
      if (!last || rows.length < 500) return all;
      position = { lastActivityAt: last.chat.lastActivityAt, id: BigInt(last.chat.id) };
    }
  }
}
