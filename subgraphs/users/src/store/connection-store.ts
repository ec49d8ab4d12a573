/** Connections and blocks between users (tables connections, blocks). */
import type { PrismaClient } from '@chat/prisma';

export class ConnectionStore {
  constructor(private readonly prisma: PrismaClient) {}
}
