/** The only code of this subgraph that touches storage. */
import {
  isUniqueViolation,
  type Chat as ChatRow,
  type ChatMember as ChatMemberRow,
  type Prisma,
  type PrismaClient,
} from '@chat/prisma';
import DataLoader from 'dataloader';

export type ChatKind = 'DIRECT' | 'GROUP';
export type ChatRole = 'OWNER' | 'ADMIN' | 'MEMBER';

/** A chat as the resolvers see it: IDs as decimal strings. */
export interface ChatRecord {
  id: string;
  kind: ChatKind;
  title: string | null;
  createdAt: Date;
  /** Written by the messages subgraph when a message is stored. */
  lastActivityAt: Date;
  /** Written by the messages subgraph when a message is stored. */
  lastMessageId: string | null;
}

/** One user's membership of one chat. */
export interface ChatMemberRecord {
  chatId: string;
  userId: string;
  role: ChatRole;
  joinedAt: Date;
  /** Written by the messages subgraph; reset when the member reads the chat. */
  unreadCount: number;
}

/** Who may add a user to a group directly (`users.group_add_policy`, set by the users subgraph). */
export type GroupAddPolicy = 'EVERYONE' | 'CONNECTIONS' | 'NOBODY';

/** What decides whether `adder` may add a user to a group, invite them, or neither (see `ChatStore.standings`). */
export interface Standing {
  userId: string;
  policy: GroupAddPolicy;
  /** They blocked the adder. */
  blockedByThem: boolean;
  /** The adder blocked them. */
  blockedByAdder: boolean;
  /** The two are CONNECTED. */
  connected: boolean;
}

/** An invitation to a group the invitee has not answered, with the group's title. */
export interface GroupInvitationRecord {
  chatId: string;
  userId: string;
  inviterId: string;
  title: string;
  invitedAt: Date;
}

/** Where a page of a user's invitations starts: after this one, newest first. */
export interface InvitationPosition {
  invitedAt: Date;
  chatId: bigint;
}

/** A User entity, resolved by the users subgraph. */
export interface UserRef {
  id: string;
}

/** A Message entity, resolved by the messages subgraph. */
export interface MessageRef {
  id: string;
}

/** Where a page of the viewer's chats starts: after this chat in the listing order. */
export interface ChatPosition {
  lastActivityAt: Date;
  id: bigint;
}

export interface NewChat {
  id: bigint;
  kind: ChatKind;
  title: string | null;
  /** Only for direct chats: see `directKey()`. */
  directKey: string | null;
  createdById: bigint;
  at: Date;
  /** Every member, the creator included. */
  members: readonly { userId: bigint; role: ChatRole }[];
  /** Users invited (not members), by the creator. */
  invited?: readonly bigint[];
  /** Written to the outbox in the same transaction as the chat (CHAT_CREATED). */
  systemMessage?: NewSystemMessage;
}

/**
 * A SYSTEM message for the outbox (`message_keys`, produced_at null): the
 * messages subgraph's relay appends it to the message log, and the pipeline
 * places it in the chat's history.
 */
export interface NewSystemMessage {
  id: bigint;
  chatId: bigint;
  /** Who made the change. */
  actorId: bigint;
  /** An English rendering, e.g. `Ann added Bob`. */
  text: string;
  /** What happened: a `SystemEventRecord` as JSON. */
  system: string;
  at: Date;
}

function toChat(row: ChatRow): ChatRecord {
  return {
    id: row.id.toString(),
    kind: row.kind,
    title: row.title,
    createdAt: row.createdAt,
    lastActivityAt: row.lastActivityAt,
    lastMessageId: row.lastMessageId?.toString() ?? null,
  };
}

function systemMessageRow(message: NewSystemMessage): Prisma.MessageKeyCreateManyInput {
  return {
    messageId: message.id,
    chatId: message.chatId,
    senderId: message.actorId,
    clientMessageId: `system:${message.id}`,
    kind: 'SYSTEM',
    system: message.system,
    text: message.text,
    createdAt: message.at,
    producedAt: null,
  };
}

function toMember(row: ChatMemberRow): ChatMemberRecord {
  return {
    chatId: row.chatId.toString(),
    userId: row.userId.toString(),
    role: row.role,
    joinedAt: row.joinedAt,
    unreadCount: row.unreadCount,
  };
}

/** How long a change may wait for a connection, and run (waiting for the chat's row lock included). */
const CHANGE_TRANSACTION = { maxWait: 10_000, timeout: 20_000 };

/**
 * One chat locked for one change (see `ChatStore.change`): its row and its
 * members as they are under the lock, and the writes of the change, all in
 * the transaction that holds the lock. Every read and write of the change
 * must go through here (on the embedded database, a query outside the
 * transaction would wait for it to end).
 */
export class LockedChat {
  constructor(
    private readonly tx: Prisma.TransactionClient,
    readonly chat: ChatRecord,
    /** `chats.last_seq` under the lock: the last message sequence number handed out. */
    readonly lastSeq: bigint,
    /** In joining order (ties: lower user ID first). */
    readonly members: readonly ChatMemberRecord[],
  ) {}

  /** Display names by user ID. */
  displayNames(userIds: readonly bigint[]): Promise<Map<string, string>> {
    return displayNamesOf(this.tx, userIds);
  }

  /**
   * Adds members (none of them a member yet) as MEMBER. Their receipts start
   * at the chat's last sequence number: what came before they joined is not
   * theirs to receive.
   */
  async addMembers(userIds: readonly bigint[], at: Date): Promise<void> {
    const seq = this.lastSeq;
    await this.tx.chatMember.createMany({
      data: userIds.map((userId) => ({
        chatId: BigInt(this.chat.id),
        userId,
        role: 'MEMBER' as const,
        joinedAt: at,
        deliveredSeq: seq,
        seenSeq: seq,
      })),
    });
  }

  /** `adder`'s standing with each of `userIds` that exists (see `ChatStore.standings`). */
  standings(adder: bigint, userIds: readonly bigint[]): Promise<Standing[]> {
    return standingsOf(this.tx, adder, userIds);
  }

  /** Invitations to this chat that are pending: not declined, sent after `since`. */
  pendingInvitationCount(since: Date): Promise<number> {
    return this.tx.groupInvitation.count({
      where: { chatId: BigInt(this.chat.id), declinedAt: null, createdAt: { gt: since } },
    });
  }

  /** This chat's invitations (pending, declined or lapsed) of any of `userIds`. */
  async invitationsOf(
    userIds: readonly bigint[],
  ): Promise<{ userId: string; inviterId: string; createdAt: Date; declinedAt: Date | null }[]> {
    if (userIds.length === 0) return [];
    const rows = await this.tx.groupInvitation.findMany({
      where: { chatId: BigInt(this.chat.id), userId: { in: [...userIds] } },
    });
    return rows.map((row) => ({
      userId: row.userId.toString(),
      inviterId: row.inviterId.toString(),
      createdAt: row.createdAt,
      declinedAt: row.declinedAt,
    }));
  }

  /** Invites `userIds` (replacing a lapsed or declined invitation of theirs), sent by `inviter` at `at`. */
  async invite(userIds: readonly bigint[], inviter: bigint, at: Date): Promise<void> {
    if (userIds.length === 0) return;
    await this.tx.$executeRaw`
      INSERT INTO group_invitations (chat_id, user_id, inviter_id, created_at)
      SELECT ${BigInt(this.chat.id)}::bigint, invitee, ${inviter}::bigint, ${at}::timestamptz FROM unnest(${[...userIds]}::bigint[]) AS invitee
      ON CONFLICT (chat_id, user_id) DO UPDATE SET inviter_id = EXCLUDED.inviter_id, created_at = EXCLUDED.created_at, declined_at = NULL`;
  }

  /** Removes the invitations of `userIds` to this chat (they joined). */
  async dropInvitations(userIds: readonly bigint[]): Promise<void> {
    await this.tx.groupInvitation.deleteMany({ where: { chatId: BigInt(this.chat.id), userId: { in: [...userIds] } } });
  }

  async removeMember(userId: bigint): Promise<void> {
    await this.tx.chatMember.delete({ where: { chatId_userId: { chatId: BigInt(this.chat.id), userId } } });
  }

  async setRole(userId: bigint, role: ChatRole): Promise<void> {
    await this.tx.chatMember.update({
      where: { chatId_userId: { chatId: BigInt(this.chat.id), userId } },
      data: { role },
    });
  }

  /** @returns the chat with its new title. */
  async rename(title: string): Promise<ChatRecord> {
    return toChat(await this.tx.chat.update({ where: { id: BigInt(this.chat.id) }, data: { title } }));
  }

  /** Writes SYSTEM messages to the outbox, in the order given. */
  async writeSystemMessages(messages: readonly NewSystemMessage[]): Promise<void> {
    await this.tx.messageKey.createMany({ data: messages.map(systemMessageRow) });
  }
}

/** The client of the store, or of a transaction. */
type Client = Prisma.TransactionClient | PrismaClient;

async function existingUserIdsOf(client: Client, userIds: readonly bigint[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  // A deleted account stays as a row ("Deleted user") but is no one to add or to talk to.
  const rows = await client.user.findMany({
    where: { id: { in: [...userIds] }, deletedAt: null },
    select: { id: true },
  });
  return new Set(rows.map((row) => row.id.toString()));
}

async function displayNamesOf(client: Client, userIds: readonly bigint[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await client.user.findMany({
    where: { id: { in: [...userIds] } },
    select: { id: true, displayName: true },
  });
  return new Map(rows.map((row) => [row.id.toString(), row.displayName]));
}

/**
 * `adder`'s standing with each of `userIds` that exists and is not deleted,
 * in one query: the user's group-add policy, blocks either way, connection.
 */
async function standingsOf(client: Client, adder: bigint, userIds: readonly bigint[]): Promise<Standing[]> {
  if (userIds.length === 0) return [];
  const rows = await client.$queryRaw<
    { id: bigint; policy: GroupAddPolicy; blocked_by_them: boolean; blocked_by_adder: boolean; connected: boolean }[]
  >`
    SELECT u.id, u.group_add_policy::text AS policy,
           EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = ${adder}) AS blocked_by_them,
           EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = ${adder} AND b.blocked_id = u.id) AS blocked_by_adder,
           EXISTS (SELECT 1 FROM connections c WHERE c.user_id = ${adder} AND c.other_id = u.id AND c.state = 'CONNECTED') AS connected
      FROM users u
     WHERE u.id = ANY(${[...userIds]}) AND u.deleted_at IS NULL`;
  return rows.map((row) => ({
    userId: row.id.toString(),
    policy: row.policy,
    blockedByThem: row.blocked_by_them,
    blockedByAdder: row.blocked_by_adder,
    connected: row.connected,
  }));
}

/** The unique key of the direct chat between two users, whatever the order they are given in. */
export function directKey(a: bigint, b: bigint): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

export class ChatStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Batches look-ups of chats by ID into one query; null for a chat that does not exist. */
  chatLoader(): DataLoader<string, ChatRecord | null> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chat.findMany({ where: { id: { in: chatIds.map(BigInt) } } });
      const byId = new Map(rows.map((row) => [row.id.toString(), toChat(row)]));
      return chatIds.map((id) => byId.get(id) ?? null);
    });
  }

  /** Batches look-ups of the members of many chats into one query, in joining order. */
  membersLoader(): DataLoader<string, ChatMemberRecord[]> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chatMember.findMany({
        where: { chatId: { in: chatIds.map(BigInt) } },
        orderBy: [{ joinedAt: 'asc' }, { userId: 'asc' }],
      });
      const byChat = new Map<string, ChatMemberRecord[]>();
      for (const row of rows) {
        const member = toMember(row);
        const list = byChat.get(member.chatId);
        if (list) list.push(member);
        else byChat.set(member.chatId, [member]);
      }
      return chatIds.map((id) => byChat.get(id) ?? []);
    });
  }

  /** Batches member counts of many chats into one query; 0 for an unknown chat. */
  memberCountLoader(): DataLoader<string, number> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chatMember.groupBy({
        by: ['chatId'],
        where: { chatId: { in: chatIds.map(BigInt) } },
        _count: { _all: true },
      });
      const byChat = new Map(rows.map((row) => [row.chatId.toString(), row._count._all]));
      return chatIds.map((id) => byChat.get(id) ?? 0);
    });
  }

  /** Batches look-ups of `userId`'s membership of many chats into one query; null where not a member. */
  membershipLoader(userId: string): DataLoader<string, ChatMemberRecord | null> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chatMember.findMany({
        where: { userId: BigInt(userId), chatId: { in: chatIds.map(BigInt) } },
      });
      const byChat = new Map(rows.map((row) => [row.chatId.toString(), toMember(row)]));
      return chatIds.map((id) => byChat.get(id) ?? null);
    });
  }

  /** The IDs, among `userIds`, of users that exist. */
  existingUserIds(userIds: readonly bigint[]): Promise<Set<string>> {
    return existingUserIdsOf(this.prisma, userIds);
  }

  /** Display names by user ID. */
  displayNames(userIds: readonly bigint[]): Promise<Map<string, string>> {
    return displayNamesOf(this.prisma, userIds);
  }

  /**
   * Runs one change of a chat in one transaction that first locks the chat's
   * row, so that changes of one chat (and the message pipeline, which
   * advances `last_seq` under the same lock) take turns: `work` sees the
   * chat and its members as they are, and nobody else changes them until
   * the transaction ends. Whatever `work` throws rolls every write back.
   * `work` gets null when there is no such chat.
   */
  async change<T>(chatId: bigint, work: (locked: LockedChat | null) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: bigint }[]>`SELECT id FROM chats WHERE id = ${chatId} FOR UPDATE`;
      if (rows.length === 0) return work(null);
      // After the lock: `last_seq` and the members are now those the change builds on.
      const chat = await tx.chat.findUniqueOrThrow({ where: { id: chatId } });
      const members = await tx.chatMember.findMany({
        where: { chatId },
        orderBy: [{ joinedAt: 'asc' }, { userId: 'asc' }],
      });
      return work(new LockedChat(tx, toChat(chat), chat.lastSeq, members.map(toMember)));
    }, CHANGE_TRANSACTION);
  }

  /**
   * Whether either of two users blocked the other, and whether they are
   * connected (tables of the users subgraph), in one query.
   */
  async relationship(a: bigint, b: bigint): Promise<{ blocked: boolean; connected: boolean }> {
    const [row] = await this.prisma.$queryRaw<{ blocked: boolean; connected: boolean }[]>`
      SELECT EXISTS (
               SELECT 1 FROM blocks
                WHERE (blocker_id = ${a} AND blocked_id = ${b}) OR (blocker_id = ${b} AND blocked_id = ${a})
             ) AS blocked,
             EXISTS (SELECT 1 FROM connections WHERE user_id = ${a} AND other_id = ${b} AND state = 'CONNECTED') AS connected`;
    return { blocked: row?.blocked ?? false, connected: row?.connected ?? false };
  }

  /**
   * `adder`'s standing with each of `userIds` that exists (deleted accounts
   * and unknown IDs are left out): policy, blocks either way, connection.
   */
  standings(adder: bigint, userIds: readonly bigint[]): Promise<Standing[]> {
    return standingsOf(this.prisma, adder, userIds);
  }

  /** `userId`'s pending invitations sent after `since`, newest first, after `after`, at most `take`. */
  async invitationsOfUser(
    userId: string,
    since: Date,
    take: number,
    after: InvitationPosition | null,
  ): Promise<GroupInvitationRecord[]> {
    const rows = await this.prisma.groupInvitation.findMany({
      where: {
        userId: BigInt(userId),
        declinedAt: null,
        createdAt: { gt: since },
        ...(after && {
          OR: [{ createdAt: { lt: after.invitedAt } }, { createdAt: after.invitedAt, chatId: { lt: after.chatId } }],
        }),
      },
      orderBy: [{ createdAt: 'desc' }, { chatId: 'desc' }],
      take,
      include: { chat: { select: { title: true } } },
    });
    return rows.map((row) => ({
      chatId: row.chatId.toString(),
      userId: row.userId.toString(),
      inviterId: row.inviterId.toString(),
      title: row.chat.title ?? '',
      invitedAt: row.createdAt,
    }));
  }

  /** `userId`'s pending invitation to `chatId` sent after `since`, or null. */
  async pendingInvitation(chatId: bigint, userId: string, since: Date): Promise<GroupInvitationRecord | null> {
    const row = await this.prisma.groupInvitation.findFirst({
      where: { chatId, userId: BigInt(userId), declinedAt: null, createdAt: { gt: since } },
      include: { chat: { select: { title: true } } },
    });
    return row
      ? {
          chatId: row.chatId.toString(),
          userId: row.userId.toString(),
          inviterId: row.inviterId.toString(),
          title: row.chat.title ?? '',
          invitedAt: row.createdAt,
        }
      : null;
  }

  /** Marks `userId`'s pending invitation to `chatId` (sent after `since`) declined. @returns whether there was one. */
  async declineInvitation(chatId: bigint, userId: string, since: Date, at: Date): Promise<boolean> {
    const updated = await this.prisma.groupInvitation.updateMany({
      where: { chatId, userId: BigInt(userId), declinedAt: null, createdAt: { gt: since } },
      data: { declinedAt: at },
    });
    return updated.count > 0;
  }

  async findByDirectKey(key: string): Promise<ChatRecord | null> {
    const row = await this.prisma.chat.findUnique({ where: { directKey: key } });
    return row ? toChat(row) : null;
  }

  /**
   * Creates the chat, its members and its SYSTEM message in one transaction.
   * @returns null, creating nothing, when `chat.directKey` is already taken
   * (another request created the same direct chat first).
   */
  async insert(chat: NewChat): Promise<ChatRecord | null> {
    try {
      const create = this.prisma.chat.create({
        data: {
          id: chat.id,
          kind: chat.kind,
          title: chat.title,
          directKey: chat.directKey,
          createdById: chat.createdById,
          createdAt: chat.at,
          lastActivityAt: chat.at,
          // A nested write: Prisma runs the chat and its members in one transaction.
          members: {
            createMany: { data: chat.members.map(({ userId, role }) => ({ userId, role, joinedAt: chat.at })) },
          },
          ...(chat.invited?.length && {
            invitations: {
              createMany: {
                data: chat.invited.map((userId) => ({ userId, inviterId: chat.createdById, createdAt: chat.at })),
              },
            },
          }),
        },
      });
      if (!chat.systemMessage) return toChat(await create);
      const [row] = await this.prisma.$transaction([
        create,
        this.prisma.messageKey.create({ data: systemMessageRow(chat.systemMessage) }),
      ]);
      return toChat(row);
    } catch (error) {
      if (chat.directKey !== null && isUniqueViolation(error)) return null;
      throw error;
    }
  }

  /**
   * One page of `userId`'s chats, most recently active first (ties: higher ID
   * first), starting after `after`. Each chat comes with the user's membership.
   */
  async pageOfMember(
    userId: string,
    take: number,
    after: ChatPosition | null,
  ): Promise<{ chat: ChatRecord; membership: ChatMemberRecord }[]> {
    const viewer = BigInt(userId);
    const rows = await this.prisma.chat.findMany({
      where: {
        members: { some: { userId: viewer } },
        ...(after && {
          OR: [
            { lastActivityAt: { lt: after.lastActivityAt } },
            { lastActivityAt: after.lastActivityAt, id: { lt: after.id } },
          ],
        }),
      },
      orderBy: [{ lastActivityAt: 'desc' }, { id: 'desc' }],
      take,
      include: { members: { where: { userId: viewer } } },
    });
    return rows.flatMap(({ members, ...chat }) => {
      const membership = members[0];
      return membership ? [{ chat: toChat(chat), membership: toMember(membership) }] : [];
    });
  }
}
