/**
 * The media limits and the unattached sweep on a real Postgres, where
 * transactions do run at once: concurrent createUploads never overshoot the
 * quota (the per-uploader lock), and the sweep of uploads never attached
 * cannot delete a media that sendMessage (AttachmentStore.attach) or
 * setAvatar (UserStore.setAvatar) attaches at the same moment: whichever
 * goes second sees what the first did.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEventBus, MemoryEntityCache, Snowflake, type Viewer } from '@chat/common';
import { openDatabase, type Database, type PrismaClient } from '@chat/prisma';
import { LocalObjectStorage, MediaProcessor, MediaService, MediaStore } from '@chat/subgraph-media';
import { AttachmentStore, MediaNotAttachableError } from '@chat/subgraph-messages';
import { UserStore } from '@chat/subgraph-users';
import type { GraphQLError } from 'graphql';
import { createTestDatabase } from '../kit/launcher.ts';

const QUOTA = 10_000;
const TTL_MS = 3_600_000;

describe('media quota and the unattached sweep on Postgres', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  let dir: string;
  let store: MediaStore;
  let storage: LocalObjectStorage;
  let processor: MediaProcessor;
  const bus = createEventBus();
  const ids = new Snowflake({ worker: 3 });
  const clock = Date.now();
  let nextUser = 800n;

  const serviceFor = (viewer: Viewer) =>
    new MediaService(viewer, {
      store,
      storage,
      processor,
      ids,
      downloadTtlSeconds: 60,
      limits: { quotaBytes: QUOTA, bytesPerHour: 1_000_000, filesPerHour: 1_000 },
      now: () => new Date(clock),
    });
  const newUser = async (): Promise<Viewer> => {
    const id = nextUser++;
    await db.prisma.user.create({ data: { id, username: `m${id}`, displayName: `M ${id}`, passwordHash: 'x' } });
    return { id: id.toString(), username: `m${id}`, sessionId: '1' };
  };
  /** A READY upload created a day ago, never attached. */
  const oldReady = async (
    viewer: Viewer,
    purpose: 'MESSAGE_ATTACHMENT' | 'AVATAR' = 'MESSAGE_ATTACHMENT',
  ): Promise<string> => {
    const id = ids.next();
    const created = new Date(clock - 2 * TTL_MS);
    await db.prisma.media.create({
      data: {
        id,
        uploaderId: BigInt(viewer.id),
        purpose,
        fileName: 'a.png',
        contentType: 'image/png',
        size: 10,
        storageKey: `${id}/k`,
        status: 'READY',
        kind: 'IMAGE',
        createdAt: created,
        uploadExpiresAt: created,
      },
    });
    await storage.write('clean', `${id}/k`, Buffer.alloc(10), 'image/png');
    return id.toString();
  };
  const exists = async (mediaId: string) => (await db.prisma.media.count({ where: { id: BigInt(mediaId) } })) === 1;
  /** Resolves once another connection of this database waits for a row lock: the readiness signal of a blocked statement. */
  const someoneWaitsForALock = async () => {
    for (;;) {
      const [row] = await db.prisma.$queryRaw<{ waiting: bigint }[]>`
        SELECT count(*) AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      if (Number(row?.waiting) > 0) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  before(async () => {
    database = await createTestDatabase();
    db = await openDatabase({ kind: 'postgres', url: database.url });
    dir = mkdtempSync(join(tmpdir(), 'media-quota-pg-'));
    store = new MediaStore(db.prisma);
    storage = new LocalObjectStorage({ root: dir, key: 'k'.repeat(32), publicBaseUrl: 'http://localhost:1' });
    processor = new MediaProcessor(store, storage, null, bus.pubsub, {
      now: () => new Date(clock),
      unattachedTtlMs: TTL_MS,
    });
  });
  after(async () => {
    await processor?.stop();
    await bus.close();
    await db?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets concurrent uploads fill the quota, never overshoot it', async () => {
    const ann = await newUser();
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        serviceFor(ann).createUpload({
          fileName: `${i}.txt`,
          contentType: 'text/plain',
          size: 3_000,
          purpose: 'MESSAGE_ATTACHMENT',
        }),
      ),
    );
    const refused = attempts.filter((attempt): attempt is PromiseRejectedResult => attempt.status === 'rejected');
    assert.equal(attempts.length - refused.length, 3, 'three uploads of 3,000 bytes fit in 10,000');
    for (const { reason } of refused)
      assert.equal((reason as GraphQLError).extensions.reason, 'QUOTA_EXCEEDED', String(reason));
    assert.equal((await serviceFor(ann).storage(ann.id)).used, 9_000);
  });

  it('keeps a media sendMessage attaches while the sweep runs, and refuses to attach one the sweep deleted', async () => {
    const bob = await newUser();
    const attachments = new AttachmentStore(db.prisma);
    const message = () => ({ id: ids.next().toString(), chatId: '1', senderId: bob.id });

    // The attach holds the media's row while the sweep looks: the sweep passes it by, and never takes it after.
    const sent = await oldReady(bob);
    await db.prisma.$transaction(async (tx) => {
      await attachments.attach(tx, message(), [sent]);
      await processor.sweep();
    });
    await processor.sweep();
    assert.ok(await exists(sent), 'an attached media is kept');
    assert.equal(await storage.size('clean', `${sent}/k`), 10);

    // The sweep deletes first and holds the row until it commits; the attach waiting for it then finds nothing.
    const swept = await oldReady(bob);
    let attaching: Promise<void> | undefined;
    await db.prisma.$transaction(async (tx) => {
      assert.deepEqual(
        await new MediaStore(tx as unknown as PrismaClient).deleteUnattached(new Date(clock - TTL_MS), 100),
        [`${swept}/k`],
      );
      attaching = db.prisma.$transaction((other) => attachments.attach(other, message(), [swept]));
      attaching.catch(() => {});
      await someoneWaitsForALock();
    });
    await assert.rejects(attaching!, MediaNotAttachableError);
    assert.equal(await exists(swept), false);
    assert.equal(
      await db.prisma.mediaAttachment.count({ where: { mediaId: BigInt(swept) } }),
      0,
      'no attachment of a deleted media',
    );
  });

  it('keeps a media setAvatar takes, and refuses an avatar the sweep deleted', async () => {
    const cat = await newUser();
    const users = new UserStore(db.prisma, new MemoryEntityCache());
    const avatar = await oldReady(cat, 'AVATAR');
    assert.ok(await users.setAvatar(cat.id, avatar));
    await processor.sweep();
    assert.ok(await exists(avatar), 'an avatar is kept');
    // Replacing the avatar does not make the old one "never attached".
    assert.ok(await users.setAvatar(cat.id, null));
    await processor.sweep();
    assert.ok(await exists(avatar));

    const late = await oldReady(cat, 'AVATAR');
    await processor.sweep();
    assert.equal(await exists(late), false, 'an avatar upload never used is deleted');
    assert.equal(await storage.size('clean', `${late}/k`), null, 'with its bytes');
    assert.equal(await users.setAvatar(cat.id, late), null);
    assert.equal((await db.prisma.user.findUniqueOrThrow({ where: { id: BigInt(cat.id) } })).avatarMediaId, null);
  });
});
