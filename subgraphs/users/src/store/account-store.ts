/**
 * Erasing an account, in one Postgres transaction: everything the user owns
 * or that names them goes, the users row stays as "Deleted user" so that
 * messages in other people's histories keep a sender. docs/ACCOUNT-DATA.md
 * has the rule; the history's SYSTEM messages that name the user are
 * re-rendered afterwards by the messages subgraph (account_erasures).
 */
import { heirOf, renderSystemText, type SystemEventRecord } from '@chat/common';
import type { Prisma, PrismaClient } from '@chat/prisma';

export const DELETED_USER_NAME = 'Deleted user';

/** What changed for others, to announce once the erasure committed. */
export interface Erasure {
  /** Chats the user left, with who remains and who owns them now when that changed. */
  chats: { chatId: string; remainingIds: string[]; newOwnerId: string | null }[];
  /** Users who had a connection, an invitation or a block with the user. */
  formerContactIds: string[];
  /** The sessions that ended with the account. */
  sessionIds: string[];
}

type Tx = Prisma.TransactionClient;

export class AccountStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * @param newId hands out the IDs of the SYSTEM messages written to the outbox.
   * @returns null when the account was already erased.
   */
  async erase(userId: string, at: Date, newId: () => bigint): Promise<Erasure | null> {
    const user = BigInt(userId);
    return this.prisma.$transaction(
      async (tx) => {
        const [row] = await tx.$queryRaw<
          { deleted_at: Date | null }[]
        >`SELECT deleted_at FROM users WHERE id = ${user} FOR UPDATE`;
        if (!row || row.deleted_at) return null;
        const chats = await this.#leaveChats(tx, user, at, newId);
        const formerContactIds = await this.#dropRelations(tx, user);
        // Invitations to groups they never joined: answered by no one now (and they would count against the groups' limit).
        await tx.groupInvitation.deleteMany({ where: { userId: user } });
        // Every session ends with the account (their refresh tokens go with them).
        const sessions = await tx.authSession.findMany({ where: { userId: user }, select: { id: true } });
        await tx.authSession.deleteMany({ where: { userId: user } });
        await tx.user.update({
          where: { id: user },
          data: {
            username: `deleted_${userId}`,
            displayName: DELETED_USER_NAME,
            avatarMediaId: null,
            // Not a hash any password can match: the account cannot log in again.
            passwordHash: '!',
            email: null,
            phone: null,
            version: { increment: 1 },
            deletedAt: at,
          },
        });
        await tx.accountErasure.create({ data: { userId: user, requestedAt: at } });
        return { chats, formerContactIds, sessionIds: sessions.map((session) => session.id.toString()) };
      },
      { maxWait: 10_000, timeout: 60_000 },
    );
  }

  /**
   * Leaves every chat. A group the user owned passes to its heir (`heirOf`,
   * the rule of leaveChat, docs/GROUPS.md), and its
   * history records both in SYSTEM messages (through the outbox, like every
   * membership change). Chats are locked in ID order, as the chats subgraph
   * locks one at a time, so the two cannot deadlock.
   */
  async #leaveChats(tx: Tx, user: bigint, at: Date, newId: () => bigint): Promise<Erasure['chats']> {
    const memberships = await tx.chatMember.findMany({
      where: { userId: user },
      select: { chatId: true },
      orderBy: { chatId: 'asc' },
    });
    const left: Erasure['chats'] = [];
    for (const { chatId } of memberships) {
      const [chat] = await tx.$queryRaw<
        { kind: 'DIRECT' | 'GROUP' }[]
      >`SELECT kind FROM chats WHERE id = ${chatId} FOR UPDATE`;
      const members = await tx.chatMember.findMany({
        where: { chatId },
        orderBy: [{ joinedAt: 'asc' }, { userId: 'asc' }],
      });
      const me = members.find((member) => member.userId === user);
      const others = members.filter((member) => member.userId !== user);
      await tx.chatMember.delete({ where: { chatId_userId: { chatId, userId: user } } });
      let newOwnerId: bigint | null = null;
      if (chat?.kind === 'GROUP') {
        const events: SystemEventRecord[] = [
          { action: 'MEMBER_LEFT', actorId: user.toString(), userIds: [user.toString()] },
        ];
        const successor = me?.role === 'OWNER' ? heirOf(members, user) : undefined;
        if (successor) {
          newOwnerId = successor.userId;
          await tx.chatMember.update({
            where: { chatId_userId: { chatId, userId: successor.userId } },
            data: { role: 'OWNER' },
          });
          events.push({
            action: 'ROLE_CHANGED',
            actorId: user.toString(),
            userIds: [successor.userId.toString()],
            role: 'OWNER',
          });
        }
        const names = await displayNames(tx, [user, ...(newOwnerId === null ? [] : [newOwnerId])]);
        names.set(user.toString(), DELETED_USER_NAME);
        await tx.messageKey.createMany({
          data: events.map((event, index) => {
            const id = newId();
            return {
              messageId: id,
              chatId,
              senderId: user,
              clientMessageId: `system:${id}`,
              kind: 'SYSTEM' as const,
              system: JSON.stringify(event),
              text: renderSystemText(event, names),
              // One millisecond apart: the relay appends in creation order.
              createdAt: new Date(at.getTime() + index),
            };
          }),
        });
      }
      left.push({
        chatId: chatId.toString(),
        remainingIds: others.map((member) => member.userId.toString()),
        newOwnerId: newOwnerId?.toString() ?? null,
      });
    }
    return left;
  }

  /** Deletes what belongs to the user alone or pairs them with others. @returns those others. */
  async #dropRelations(tx: Tx, user: bigint): Promise<string[]> {
    const pairs = await tx.connection.findMany({ where: { userId: user }, select: { otherId: true } });
    const blocks = await tx.block.findMany({
      where: { OR: [{ blockerId: user }, { blockedId: user }] },
      select: { blockerId: true, blockedId: true },
    });
    const others = new Set([
      ...pairs.map((pair) => pair.otherId.toString()),
      ...blocks.map((block) => (block.blockerId === user ? block.blockedId : block.blockerId).toString()),
    ]);
    await tx.connection.deleteMany({ where: { OR: [{ userId: user }, { otherId: user }] } });
    await tx.block.deleteMany({ where: { OR: [{ blockerId: user }, { blockedId: user }] } });
    await tx.contactChange.deleteMany({ where: { userId: user } });
    await tx.presence.deleteMany({ where: { userId: user } });
    await tx.presenceDevice.deleteMany({ where: { userId: user } });
    await tx.messageHide.deleteMany({ where: { userId: user } });
    await tx.messageReaction.deleteMany({ where: { userId: user } });
    await tx.receiptMark.deleteMany({ where: { userId: user } });
    // The idempotency keys' copies of the user's own texts (history keeps the messages themselves).
    await tx.messageKey.deleteMany({ where: { senderId: user, kind: 'USER' } });
    return [...others];
  }
}

async function displayNames(tx: Tx, ids: readonly bigint[]): Promise<Map<string, string>> {
  const rows = await tx.user.findMany({ where: { id: { in: [...ids] } }, select: { id: true, displayName: true } });
  return new Map(rows.map((row) => [row.id.toString(), row.displayName]));
}
