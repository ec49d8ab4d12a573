/** The only code of this subgraph that touches storage. */
import type { PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';

export type PresenceStatus = 'ONLINE' | 'AWAY' | 'BUSY' | 'OFFLINE';

export interface PresenceRecord {
  status: PresenceStatus;
  lastSeenAt: Date | string | null;
}

/** A User entity as this subgraph knows it: the key, and the presence when already at hand. */
export interface UserPresenceRef {
  id: string;
  presence?: PresenceRecord;
}

export const OFFLINE: PresenceRecord = { status: 'OFFLINE', lastSeenAt: null };

export class PresenceStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Batches look-ups of many users' presence into one query. */
  loader(): DataLoader<string, PresenceRecord> {
    return new DataLoader(async (userIds) => {
      const rows = await this.prisma.presence.findMany({ where: { userId: { in: userIds.map(BigInt) } } });
      const byId = new Map(rows.map((row) => [row.userId.toString(), { status: row.status, lastSeenAt: row.lastSeenAt }]));
      return userIds.map((id) => byId.get(id) ?? OFFLINE);
    });
  }

  async set(userId: string, status: PresenceStatus, at: Date): Promise<PresenceRecord> {
    const row = await this.prisma.presence.upsert({
      where: { userId: BigInt(userId) },
      create: { userId: BigInt(userId), status, lastSeenAt: at, updatedAt: at },
      update: { status, lastSeenAt: at, updatedAt: at },
    });
    return { status: row.status, lastSeenAt: row.lastSeenAt };
  }

  /** Everyone who shares at least one chat with `userId`, the user excluded. */
  async chatPartners(userId: string): Promise<string[]> {
    const rows = await this.prisma.chatMember.findMany({
      where: { chat: { members: { some: { userId: BigInt(userId) } } }, userId: { not: BigInt(userId) } },
      select: { userId: true },
      distinct: ['userId'],
    });
    return rows.map((row) => row.userId.toString());
  }
}
