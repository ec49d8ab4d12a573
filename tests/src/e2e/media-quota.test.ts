/**
 * Storage limits and download names end to end: the embedded gateway over
 * real HTTP, on local disk. createUpload refuses an upload beyond the quota
 * or the hourly rate (QUOTA_EXCEEDED, with the limit), `me { storage }`
 * shows the viewer what they use and nobody else's, and downloads are
 * attachments named with the extension of the type they are served as.
 * (The sweep of uploads never attached runs on a clock of its own in
 * subgraphs/media/src/storage-quota.test.ts and on Postgres in
 * tests/src/integration/media-quota.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { gql, gqlOk } from '../kit/client.ts';
import { registerUser, type TestUser } from '../kit/seed.ts';
import { startEmbedded, type Embedded } from '../kit/topology.ts';

const QUOTA = 50_000;
const FILES_PER_HOUR = 5;
const CREATE =
  'mutation ($input: CreateUploadInput!) { createUpload(input: $input) { mediaId uploadUrl headers { name value } } }';
const STORAGE = '{ me { id storage { used quota } } }';

describe('media storage limits and download names (embedded gateway, local disk)', () => {
  let gateway: Embedded;
  let url: string;

  before(async () => {
    gateway = await startEmbedded({
      MEDIA_QUOTA_BYTES: String(QUOTA),
      MEDIA_UPLOAD_FILES_PER_HOUR: String(FILES_PER_HOUR),
    });
    url = gateway.url;
  });
  after(() => gateway?.stop());

  const createUpload = (user: TestUser, input: { fileName?: string; contentType?: string; size: number }) =>
    gql(
      url,
      CREATE,
      { input: { fileName: 'notes.txt', contentType: 'text/plain', purpose: 'MESSAGE_ATTACHMENT', ...input } },
      user.token,
    );

  /** Upload, complete and wait until processed: the READY media with its URL. */
  const uploadReady = async (user: TestUser, fileName: string, contentType: string, body: Buffer) => {
    const created = await createUpload(user, { fileName, contentType, size: body.length });
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const ticket = created.data!.createUpload;
    const headers = Object.fromEntries(ticket.headers.map((h: { name: string; value: string }) => [h.name, h.value]));
    const put = await fetch(ticket.uploadUrl, { method: 'PUT', headers, body: new Uint8Array(body) });
    assert.ok(put.ok, `PUT answered ${put.status}`);
    await gqlOk(url, 'mutation ($id: ID!) { completeUpload(mediaId: $id) { id } }', { id: ticket.mediaId }, user.token);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { media } = await gqlOk(
        url,
        'query ($id: ID!) { media(id: $id) { status rejectionReason url } }',
        { id: ticket.mediaId },
        user.token,
      );
      if (media.status === 'READY') return media as { url: string };
      assert.notEqual(media.status, 'REJECTED', media.rejectionReason);
      if (Date.now() > deadline) throw new Error(`still ${media.status} after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('shows the viewer their storage, refuses an upload beyond the quota, and hides the storage from others', async () => {
    const ann = await registerUser(url, 'ann');
    const bob = await registerUser(url, 'bob');
    assert.deepEqual((await gqlOk(url, STORAGE, {}, ann.token)).me.storage, { used: 0, quota: QUOTA });
    assert.equal((await createUpload(ann, { size: 30_000 })).errors, undefined);
    assert.deepEqual(
      (await gqlOk(url, STORAGE, {}, ann.token)).me.storage,
      { used: 30_000, quota: QUOTA },
      'a pending upload counts by its declared size',
    );

    const refused = await createUpload(ann, { size: 30_000 });
    assert.equal(refused.data, null);
    const { serviceName: _service, ...extensions } = refused.errors?.[0]?.extensions ?? {};
    assert.deepEqual(extensions, {
      code: 'BAD_USER_INPUT',
      reason: 'QUOTA_EXCEEDED',
      argument: 'input.size',
      limitType: 'STORAGE',
      limit: QUOTA,
      used: 30_000,
    });
    assert.equal((await gqlOk(url, STORAGE, {}, ann.token)).me.storage.used, 30_000, 'a refused upload holds nothing');

    const peek = await gql(
      url,
      'query ($id: ID!) { user(id: $id) { username storage { used } } }',
      { id: ann.id },
      bob.token,
    );
    assert.equal(peek.data?.user?.username, ann.username);
    assert.equal(peek.data?.user?.storage, null);
    assert.equal(peek.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  });

  it('refuses more uploads per hour than allowed, saying when to retry', async () => {
    const cat = await registerUser(url, 'cat');
    for (let i = 0; i < FILES_PER_HOUR; i += 1) assert.equal((await createUpload(cat, { size: 10 })).errors, undefined);
    const refused = await createUpload(cat, { size: 10 });
    const extensions = refused.errors?.[0]?.extensions;
    assert.deepEqual(
      [extensions?.reason, extensions?.limitType, extensions?.limit, extensions?.used],
      ['QUOTA_EXCEEDED', 'UPLOAD_FILES_PER_HOUR', FILES_PER_HOUR, FILES_PER_HOUR],
    );
    assert.ok(
      Number(extensions?.retryAfterSeconds) > 3_500 && Number(extensions?.retryAfterSeconds) <= 3_600,
      JSON.stringify(extensions),
    );
  });

  it('serves downloads as attachments named with the extension of their stored type', async () => {
    const dan = await registerUser(url, 'dan');
    // HTML declared as text: stored, checked and served as text, saved as .txt.
    const page = await uploadReady(dan, 'x.html', 'text/plain', Buffer.from('<script>alert(1)</script>\n'));
    const text = await fetch(page.url);
    assert.equal(text.status, 200);
    assert.equal(text.headers.get('content-type'), 'text/plain');
    assert.equal(text.headers.get('content-disposition'), `attachment; filename="x.txt"; filename*=UTF-8''x.txt`);
    assert.equal(text.headers.get('x-content-type-options'), 'nosniff');

    const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 1, g: 2, b: 3 } } })
      .png()
      .toBuffer();
    const picture = await uploadReady(dan, 'setup.exe', 'image/png', png);
    const image = await fetch(picture.url);
    assert.equal(
      image.headers.get('content-disposition'),
      `attachment; filename="setup.png"; filename*=UTF-8''setup.png`,
    );
    assert.ok(Buffer.from(await image.arrayBuffer()).equals(png));
  });
});
