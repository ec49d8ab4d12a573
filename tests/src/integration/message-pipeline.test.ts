/**
 * The message pipeline against a real Postgres server, where placements of
 * the same message really run concurrently (PGlite serializes everything).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Snowflake } from '@chat/common';
import { openDatabase, type Database } from '@chat/prisma';
import { ChatSequencer, MessageStateStore, PrismaMessageStore, placedRecord } from '@chat/subgraph-messages';
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
      data: {
        id: chatId,
        kind: 'GROUP',
        title: 't',
        createdById: 1n,
        members: { create: [{ userId: 1n }, { userId: 2n }, { userId: 3n }] },
      },
    });
    const sequencer = new ChatSequencer(db.prisma);
    const message = {
      id: ids.nextId(),
      chatId: chatId.toString(),
      senderId: '1',
      text: 'x',
      clientMessageId: 'k',
      createdAt: new Date().toISOString(),
    };
    const placements = await Promise.all(Array.from({ length: 8 }, () => sequencer.place(message)));
    assert.deepEqual(new Set(placements.map((placement) => placement?.seq)), new Set(['1']));
    assert.equal(placements.filter((placement) => placement?.first).length, 1);
    const members = await db.prisma.chatMember.findMany({ where: { chatId }, orderBy: { userId: 'asc' } });
    assert.deepEqual(
      members.map((member) => member.unreadCount),
      [0, 1, 1],
    );
  });

  it('gives concurrent messages of one chat distinct, gapless numbers', async () => {
    const chatId = ids.next();
    await db.prisma.chat.create({
      data: { id: chatId, kind: 'DIRECT', createdById: 1n, members: { create: [{ userId: 1n }, { userId: 2n }] } },
    });
    const sequencer = new ChatSequencer(db.prisma);
    const placements = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        sequencer.place({
          id: ids.nextId(),
          chatId: chatId.toString(),
          senderId: '1',
          text: `m${n}`,
          clientMessageId: `k${n}`,
          createdAt: new Date().toISOString(),
        }),
      ),
    );
    assert.deepEqual(
      placements.map((placement) => Number(placement?.seq)).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, n) => n + 1),
    );
    const chat = await db.prisma.chat.findUniqueOrThrow({ where: { id: chatId } });
    assert.equal(chat.lastSeq, 50n);
    const bob = await db.prisma.chatMember.findFirstOrThrow({ where: { chatId, userId: 2n } });
    assert.equal(bob.unreadCount, 50);
  });

  it('refuses nothing and places nothing for a chat that does not exist', async () => {
    const placement = await new ChatSequencer(db.prisma).place({
      id: ids.nextId(),
      chatId: ids.nextId(),
      senderId: '1',
      text: 'x',
      clientMessageId: 'gone',
      createdAt: new Date().toISOString(),
    });
    assert.equal(placement, null);
  });

  it('keeps unread counts exact when the member marks seen while messages are being placed', async () => {
    const chatId = ids.next();
    await db.prisma.chat.create({
      data: { id: chatId, kind: 'DIRECT', createdById: 1n, members: { create: [{ userId: 1n }, { userId: 2n }] } },
    });
    const sequencer = new ChatSequencer(db.prisma);
    const state = new MessageStateStore(db.prisma);
    const placedIds: string[] = [];
    let placingDone = false;
    const placing = (async () => {
      for (let n = 0; n < 40; n++) {
        const id = ids.nextId();
        await Promise.all([
          sequencer.place({
            id,
            chatId: chatId.toString(),
            senderId: '1',
            text: `m${n}`,
            clientMessageId: `r${n}`,
            createdAt: new Date().toISOString(),
          }),
          sequencer.place({
            id: ids.nextId(),
            chatId: chatId.toString(),
            senderId: '1',
            text: `m${n}b`,
            clientMessageId: `r${n}b`,
            createdAt: new Date().toISOString(),
          }),
        ]);
        placedIds.push(id);
      }
      placingDone = true;
    })();
    const loader = state.placedLoader();
    let marks = 0;
    const marking = (async () => {
      while (!placingDone) {
        const last = placedIds.at(-1);
        if (last) {
          const upTo = await loader.load(last);
          const result = await state.advanceReceipt('SEEN', '2', upTo!, new Date());
          assert.notEqual(result.outcome, 'NOT_A_MEMBER');
          marks += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await Promise.all([placing, marking]);
    const bob = await db.prisma.chatMember.findFirstOrThrow({ where: { chatId, userId: 2n } });
    const after = await db.prisma.messageSeq.count({ where: { chatId, seq: { gt: bob.seenSeq } } });
    assert.ok(marks > 3 && bob.seenSeq > 0n, `marked seen ${marks} times while placing`);
    assert.equal(bob.unreadCount, after, `unread ${bob.unreadCount} for ${after} messages after seq ${bob.seenSeq}`);
  });

  it('ends concurrent edits and a deletion of one message in the deletion, whatever order history writes land in', async () => {
    const chatId = ids.next();
    await db.prisma.chat.create({
      data: { id: chatId, kind: 'DIRECT', createdById: 1n, members: { create: [{ userId: 1n }, { userId: 2n }] } },
    });
    const pending = {
      id: ids.nextId(),
      chatId: chatId.toString(),
      senderId: '1',
      text: 'original',
      clientMessageId: 'v',
      createdAt: new Date().toISOString(),
    };
    const placement = await new ChatSequencer(db.prisma).place(pending);
    const history = new PrismaMessageStore(db.prisma);
    const original = placedRecord(pending, placement!.seq);
    await history.write(original);
    const state = new MessageStateStore(db.prisma);
    const claims = await Promise.all([
      ...Array.from({ length: 6 }, (_, n) =>
        state.claimEdit(pending.id, new Date()).then(
          (claim) =>
            claim && {
              ...original,
              text: `edit ${n}`,
              version: claim.version,
              editedAt: claim.editedAt!.toISOString(),
            },
        ),
      ),
      state.claimDelete(pending.id, new Date()).then((claim) => ({
        ...original,
        text: '',
        version: claim!.version,
        deletedAt: claim!.deletedAt!.toISOString(),
      })),
    ]);
    const writes = claims.filter((claim) => claim !== null);
    const versions = writes.map((write) => write.version);
    assert.equal(new Set(versions).size, versions.length, 'every claimed version is distinct');
    // Land the history writes in the worst order: newest first, the original again last.
    for (const write of [...writes].sort((a, b) => b.version - a.version)) await history.update(write);
    await history.write(original);
    const [stored] = await history.byIds([pending.id]);
    const deletion = writes.find((write) => write.deletedAt)!;
    assert.equal(stored?.text, '');
    assert.equal(stored?.deletedAt, deletion.deletedAt);
    assert.equal(stored?.version, Math.max(...versions));
    assert.equal(await state.claimEdit(pending.id, new Date()), null, 'no edit after the deletion');
  });

  it('holds the per-user reaction limit when many reactions arrive at once', async () => {
    const chatId = ids.next();
    await db.prisma.chat.create({
      data: { id: chatId, kind: 'DIRECT', createdById: 1n, members: { create: [{ userId: 1n }, { userId: 2n }] } },
    });
    const state = new MessageStateStore(db.prisma);
    const target = { messageId: ids.nextId(), chatId: chatId.toString() };
    const emojis = Array.from({ length: 30 }, (_, n) => String.fromCodePoint(0x1f600 + n));
    const outcomes = await Promise.all([...emojis, emojis[0]!].map((emoji) => state.react('2', target, emoji, 20)));
    const mine = await db.prisma.messageReaction.count({ where: { messageId: BigInt(target.messageId), userId: 2n } });
    assert.equal(mine, 20, 'exactly the limit, however the 31 requests interleaved');
    assert.equal(outcomes.filter((outcome) => outcome === 'ADDED').length, 20);
    assert.equal(
      outcomes.filter((outcome) => outcome === 'LIMIT').length +
        outcomes.filter((outcome) => outcome === 'EXISTS').length,
      11,
    );
  });
});
