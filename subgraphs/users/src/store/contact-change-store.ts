/** Pending email and phone changes (table contact_changes). */
import type { PrismaClient } from '@chat/prisma';

export class ContactChangeStore {
  constructor(private readonly prisma: PrismaClient) {}
}
