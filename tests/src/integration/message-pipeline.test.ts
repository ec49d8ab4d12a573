/**
 * The message pipeline against a real Postgres server, where placements of
 * the same message really run concurrently (PGlite serializes everything).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Snowflake } from '@chat/common';
import { openDatabase, type Database } from '@chat/prisma';
import { ChatSequencer } from '@chat/subgraph-messages';
import { createTestDatabase } from '../kit/launcher.ts';

describe('message placement on Postgres', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  const ids = new Snowflake({ worker: 9 });

  before(async () => {
    database = await createTestDatabase();
    db = await openDatabase({ kind: 'postgres', url: database.url });
    await db.prisma.user.createMany({
      data: [1n, 2n, 3n].map((id) => ({ id, username: `u${id}`, displayName: `U${id}`, passwordHash: 'x' })),
    });
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });

  it('places a message delivered several times at once exactly once', async () => {
    const chatId = ids.next();
    await db.prisma.chat.create({
      data: { id: chatId, kind: 'GROUP', title: 't', createdById: 1n, members: { create: [{ userId: 1n }, { userId: 2n }, { userId: 3n }] } },
    });
    const sequencer = new ChatSequencer(db.prisma);
    const message = { id: ids.nextId(), chatId: chatId.toString(), senderId: '1', text: 'x', clientMessageId: 'k', createdAt: new Date().toISOString() };
    const placements = await Promise.all(Array.from({ length: 8 }, () => sequencer.place(message)));
    assert.deepEqual(new Set(placements.map((placement) => placement?.seq)), new Set(['1']));
    assert.equal(placements.filter((placement) => placement?.first).length, 1);
    const members = await db.prisma.chatMember.findMany({ where: { chatId }, orderBy: { userId: 'asc' } });
    assert.deepEqual(members.map((member) => member.unreadCount), [0, 1, 1]);
  });

  it('gives concurrent messages of one chat distinct, gapless numbers', async () => {
    const chatId = ids.next();
    await db.prisma.chat.create({ data: { id: chatId, kind: 'DIRECT', createdById: 1n, members: { create: [{ userId: 1n }, { userId: 2n }] } } });
    const sequencer = new ChatSequencer(db.prisma);
    const placements = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        sequencer.place({ id: ids.nextId(), chatId: chatId.toString(), senderId: '1', text: `m${n}`, clientMessageId: `k${n}`, createdAt: new Date().toISOString() }),
      ),
    );
    assert.deepEqual(placements.map((placement) => Number(placement?.seq)).sort((a, b) => a - b), Array.from({ length: 50 }, (_, n) => n + 1));
    const chat = await db.prisma.chat.findUniqueOrThrow({ where: { id: chatId } });
    assert.equal(chat.lastSeq, 50n);
    const bob = await db.prisma.chatMember.findFirstOrThrow({ where: { chatId, userId: 2n } });
    assert.equal(bob.unreadCount, 50);
  });

  it('refuses nothing and places nothing for a chat that does not exist', async () => {
    const placement = await new ChatSequencer(db.prisma).place({
      id: ids.nextId(), chatId: ids.nextId(), senderId: '1', text: 'x', clientMessageId: 'gone', createdAt: new Date().toISOString(),
    });
    assert.equal(placement, null);
  });
});
