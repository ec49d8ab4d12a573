/**
 * What one user's uploads may hold and how fast they may start them, in
 * process (PGlite, local disk, a clock of the test's own): the storage quota
 * and the hourly rates refused at createUpload (QUOTA_EXCEEDED), the
 * viewer's `storage` (theirs alone), and the sweep deleting uploads never
 * attached, with their bytes, once older than the TTL. Concurrent
 * createUploads and the sweep racing attachments are checked on Postgres
 * (tests/src/integration/media-quota.test.ts), end to end in
 * tests/src/e2e/media-quota.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@chat/common';
import { codeOf, createSubgraphTestkit, type SubgraphTestkit, type TestUser } from '@chat/common/testing';
import sharp from 'sharp';
import { createMediaSubgraph, MEDIA_MODELS, type MediaSubgraph } from './index.ts';
import { thumbnailKey } from './services/media-processor.ts';

const QUOTA = 10_000;
const BYTES_PER_HOUR = 6_000;
const FILES_PER_HOUR = 4;
const TTL_SECONDS = 86_400;
const CREATE = 'mutation ($input: CreateUploadInput!) { createUpload(input: $input) { mediaId } }';
const STORAGE = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { storage { used quota } } } }';

describe('storage quota, upload rates and the unattached sweep', () => {
  let kit: SubgraphTestkit<MediaSubgraph>;
  let dir: string;
  let clock = Date.parse('2026-12-01T12:00:00Z');

  const uploadInput = (size: number, contentType: string) => ({
    input: { fileName: 'a.txt', contentType, size, purpose: 'MESSAGE_ATTACHMENT' },
  });
  /** The one error of a createUpload that must be refused, as `errorOf` reads it. */
  const refusedUpload = (uploader: TestUser, size: number) =>
    kit.refusal(CREATE, uploadInput(size, 'text/plain'), uploader);
  const created = async (uploader: TestUser, size: number, contentType = 'text/plain'): Promise<string> =>
    (await kit.ok<{ createUpload: { mediaId: string } }>(CREATE, uploadInput(size, contentType), uploader)).createUpload
      .mediaId;
  const storageOf = async (viewer: TestUser, userId = viewer.id) => {
    const result = await kit.run(STORAGE, { r: [{ __typename: 'User', id: userId }] }, viewer);
    const storage = (result.data as { _entities: { storage: { used: number; quota: number } | null }[] } | null)
      ?._entities[0]?.storage;
    return { result, storage: storage ? { ...storage } : storage };
  };
  /** An upload taken through to READY: the bytes written where the PUT would put them, completed, processed. */
  const ready = async (uploader: TestUser): Promise<{ id: string; key: string; size: number }> => {
    const body = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 200, b: 90 } } })
      .png()
      .toBuffer();
    const id = await created(uploader, body.length, 'image/png');
    const { storageKey: key } = await kit.runtime.db.prisma.media.findUniqueOrThrow({ where: { id: BigInt(id) } });
    await kit.subgraph.storage.write('quarantine', key, body, 'image/png');
    await kit.ok('mutation ($id: ID!) { completeUpload(mediaId: $id) { status } }', { id }, uploader);
    await kit.subgraph.processor.idle();
    const row = await kit.runtime.db.prisma.media.findUniqueOrThrow({ where: { id: BigInt(id) } });
    assert.equal(row.status, 'READY', row.rejectionReason ?? '');
    return { id, key, size: body.length };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'media-quota-'));
    const config = loadConfig(MEDIA_MODELS, {
      MEDIA_DIR: dir,
      MEDIA_QUOTA_BYTES: String(QUOTA),
      MEDIA_UPLOAD_BYTES_PER_HOUR: String(BYTES_PER_HOUR),
      MEDIA_UPLOAD_FILES_PER_HOUR: String(FILES_PER_HOUR),
      MEDIA_UNATTACHED_TTL_SECONDS: String(TTL_SECONDS),
    });
    kit = await createSubgraphTestkit((runtime) =>
      createMediaSubgraph(runtime, {
        ...config,
        processing: { sweepMs: 3_600_000, now: () => new Date(clock) },
      }),
    );
  });
  after(async () => {
    await kit.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an upload that does not fit in the quota, with the limit and what is used; rejected uploads do not count', async () => {
    const ann = await kit.seed.user('ann');
    await created(ann, 6_000);
    clock += 3_600_000;
    const refused = await refusedUpload(ann, 5_000);
    assert.deepEqual(refused.extensions, {
      code: 'BAD_USER_INPUT',
      reason: 'QUOTA_EXCEEDED',
      argument: 'input.size',
      limitType: 'STORAGE',
      limit: QUOTA,
      used: 6_000,
    });
    assert.equal(
      await kit.runtime.db.prisma.media.count({ where: { uploaderId: BigInt(ann.id) } }),
      1,
      'nothing was stored',
    );
    await created(ann, 4_000);
    clock += 3_600_000;
    assert.equal((await refusedUpload(ann, 1)).extensions.limitType, 'STORAGE');
    await kit.runtime.db.prisma.media.updateMany({
      where: { uploaderId: BigInt(ann.id), size: 6_000 },
      data: { status: 'REJECTED' },
    });
    await created(ann, 6_000);
  });

  it('refuses more bytes per rolling hour than allowed, saying when to retry', async () => {
    const bob = await kit.seed.user('bob');
    const start = clock;
    await created(bob, 4_000);
    clock += 10 * 60_000;
    await created(bob, 2_000);
    clock += 10 * 60_000;
    const refused = await refusedUpload(bob, 1_000);
    assert.deepEqual(refused.extensions, {
      code: 'BAD_USER_INPUT',
      reason: 'QUOTA_EXCEEDED',
      argument: 'input.size',
      limitType: 'UPLOAD_BYTES_PER_HOUR',
      limit: BYTES_PER_HOUR,
      used: 6_000,
      retryAfterSeconds: 40 * 60,
    });
    clock = start + 3_600_000 + 1;
    await created(bob, 1_000);
  });

  it('refuses more uploads per rolling hour than allowed, saying when to retry', async () => {
    const cat = await kit.seed.user('cat');
    const start = clock;
    for (let i = 0; i < FILES_PER_HOUR; i += 1) {
      await created(cat, 10);
      clock += 1_000;
    }
    const refused = await refusedUpload(cat, 10);
    assert.deepEqual(refused.extensions, {
      code: 'BAD_USER_INPUT',
      reason: 'QUOTA_EXCEEDED',
      argument: 'input.size',
      limitType: 'UPLOAD_FILES_PER_HOUR',
      limit: FILES_PER_HOUR,
      used: FILES_PER_HOUR,
      retryAfterSeconds: 3_600 - FILES_PER_HOUR,
    });
    clock = start + 3_600_000 + 1;
    await created(cat, 10);
  });

  it("shows the viewer their storage, and nobody else's", async () => {
    const dan = await kit.seed.user('dan');
    const eve = await kit.seed.user('eve');
    assert.deepEqual((await storageOf(dan)).storage, { used: 0, quota: QUOTA });
    await created(dan, 1_234);
    assert.deepEqual((await storageOf(dan)).storage, { used: 1_234, quota: QUOTA });
    const { result, storage } = await storageOf(eve, dan.id);
    assert.equal(storage, null);
    assert.equal(codeOf(result), 'FORBIDDEN');
  });

  it('deletes uploads never attached once older than the TTL, with their bytes, and keeps attached ones', async () => {
    const fay = await kit.seed.user('fay');
    const lonely = await ready(fay);
    const attached = await ready(fay);
    await created(fay, 100);
    // What sendMessage and setAvatar do, in the statement that attaches (the messages and users subgraphs).
    await kit.runtime.db.prisma.media.update({
      where: { id: BigInt(attached.id) },
      data: { attachedAt: new Date(clock) },
    });
    clock += (TTL_SECONDS - 60) * 1000;
    const young = await created(fay, 200);
    clock += 120_000;
    assert.deepEqual((await storageOf(fay)).storage?.used, lonely.size + attached.size + 100 + 200);

    await kit.subgraph.processor.sweep();
    const left = await kit.runtime.db.prisma.media.findMany({
      where: { uploaderId: BigInt(fay.id) },
      select: { id: true },
    });
    assert.deepEqual(left.map((row) => row.id.toString()).sort(), [attached.id, young].sort());
    assert.equal(await kit.subgraph.storage.size('clean', lonely.key), null, 'the bytes are deleted');
    assert.equal(await kit.subgraph.storage.size('clean', thumbnailKey(lonely.key)), null, 'and the thumbnail');
    assert.equal(
      await kit.subgraph.storage.size('clean', attached.key),
      attached.size,
      'an attached upload keeps its bytes',
    );
    assert.ok((await kit.subgraph.storage.size('clean', thumbnailKey(attached.key))) !== null);
    assert.deepEqual((await storageOf(fay)).storage?.used, attached.size + 200, 'deleting frees the quota');
  });
});
