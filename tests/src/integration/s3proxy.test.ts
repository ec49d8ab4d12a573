/**
 * The S3-compatible store the media subgraph uploads to (S3Proxy from
 * `scripts/services.sh up`, or TEST_S3_*), through the AWS SDK and through
 * presigned URLs used with plain `fetch`, as browsers will.
 *
 * What these tests pin down about presigned PUTs: the URL signs the headers
 * it names in X-Amz-SignedHeaders, and the store recomputes the signature
 * from the request's own header values, so a signed Content-Length and
 * Content-Type must be repeated exactly. The SDK's presigner signs
 * Content-Length when the command has one, but never Content-Type unless
 * asked (`signableHeaders`). A size range is what browser-based POST uploads
 * have: their signed policy's content-length-range is enforced too.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createTestBuckets, type TestBuckets } from '../kit/launcher.ts';

/** The S3 error code of a failed SDK call (e.g. NoSuchKey), or rethrows what is not an S3 error. */
async function s3Error(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof S3ServiceException) return error.name;
    throw error;
  }
  assert.fail('the call succeeded');
}

/** The <Code> of an S3 error document. */
const errorCode = (xml: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

describe('S3-compatible store (S3Proxy)', () => {
  let buckets: TestBuckets;
  let client: S3Client;
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

  before(async () => {
    buckets = await createTestBuckets('s3proxy-test');
    client = new S3Client({
      endpoint: buckets.s3.endpoint,
      region: buckets.s3.region,
      credentials: { accessKeyId: buckets.s3.accessKeyId, secretAccessKey: buckets.s3.secretAccessKey },
      forcePathStyle: true,
    });
  });
  after(async () => {
    client?.destroy();
    await buckets?.drop();
  });

  /** A presigned PUT that signs the content type and the exact length. */
  const presignPut = (
    key: string,
    contentType: string,
    length: number,
    options: { expiresIn?: number; signingDate?: Date } = {},
  ) =>
    getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: buckets.quarantine, Key: key, ContentType: contentType, ContentLength: length }),
      {
        expiresIn: 300,
        signableHeaders: new Set(['content-type']),
        ...options,
      },
    );

  it('creates a fresh pair of buckets per suite', async () => {
    assert.match(buckets.quarantine, /^s3proxy-test-[0-9a-f]{10}-quarantine$/);
    assert.match(buckets.clean, /^s3proxy-test-[0-9a-f]{10}-clean$/);
    for (const bucket of [buckets.quarantine, buckets.clean])
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
  });

  it('refuses a request signed with a wrong secret', async () => {
    const impostor = new S3Client({
      endpoint: buckets.s3.endpoint,
      region: buckets.s3.region,
      credentials: { accessKeyId: buckets.s3.accessKeyId, secretAccessKey: 'not-the-secret' },
      forcePathStyle: true,
    });
    try {
      assert.equal(
        await s3Error(impostor.send(new GetObjectCommand({ Bucket: buckets.quarantine, Key: 'x' }))),
        'SignatureDoesNotMatch',
      );
    } finally {
      impostor.destroy();
    }
  });

  it('takes a PUT through a presigned URL that signs Content-Type and Content-Length, and nothing else', async () => {
    const url = await presignPut('up/avatar.png', 'image/png', png.length);
    assert.deepEqual(new URL(url).searchParams.get('X-Amz-SignedHeaders')?.split(';'), [
      'content-length',
      'content-type',
      'host',
    ]);

    const differentType = await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/gif' }, body: png });
    assert.equal(differentType.status, 403);
    assert.equal(errorCode(await differentType.text()), 'SignatureDoesNotMatch');

    const larger = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: Buffer.concat([png, Buffer.alloc(1)]),
    });
    assert.equal(larger.status, 403);
    assert.equal(errorCode(await larger.text()), 'SignatureDoesNotMatch');

    const smaller = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: png.subarray(1),
    });
    assert.equal(smaller.status, 403);
    assert.equal(errorCode(await smaller.text()), 'SignatureDoesNotMatch');

    assert.equal(
      await s3Error(client.send(new HeadObjectCommand({ Bucket: buckets.quarantine, Key: 'up/avatar.png' }))),
      'NotFound',
    );

    const exact = await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: png });
    assert.equal(exact.status, 200, await exact.text());
    const head = await client.send(new HeadObjectCommand({ Bucket: buckets.quarantine, Key: 'up/avatar.png' }));
    assert.equal(head.ContentType, 'image/png');
    assert.equal(head.ContentLength, png.length);
  });

  it('signs no Content-Type by default, and no size unless the command has a ContentLength', async () => {
    // The presigner's default leaves content-type out of the signature: any type gets in.
    const typeUnsigned = await getSignedUrl(
      client,
      new PutObjectCommand({
        Bucket: buckets.quarantine,
        Key: 'up/any-type',
        ContentType: 'image/png',
        ContentLength: png.length,
      }),
      { expiresIn: 300 },
    );
    assert.deepEqual(new URL(typeUnsigned).searchParams.get('X-Amz-SignedHeaders')?.split(';'), [
      'content-length',
      'host',
    ]);
    const anyType = await fetch(typeUnsigned, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: png });
    assert.equal(anyType.status, 200, await anyType.text());
    assert.equal(
      (await client.send(new HeadObjectCommand({ Bucket: buckets.quarantine, Key: 'up/any-type' }))).ContentType,
      'text/html',
    );

    // Without ContentLength nothing bounds the size (S3 has no content-length-range for PUT URLs).
    const sizeUnsigned = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: buckets.quarantine, Key: 'up/any-size', ContentType: 'image/png' }),
      {
        expiresIn: 300,
        signableHeaders: new Set(['content-type']),
      },
    );
    assert.deepEqual(new URL(sizeUnsigned).searchParams.get('X-Amz-SignedHeaders')?.split(';'), [
      'content-type',
      'host',
    ]);
    const big = Buffer.alloc(2 * 1024 * 1024, 0x42);
    const anySize = await fetch(sizeUnsigned, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: big });
    assert.equal(anySize.status, 200, await anySize.text());
    assert.equal(
      (await client.send(new HeadObjectCommand({ Bucket: buckets.quarantine, Key: 'up/any-size' }))).ContentLength,
      big.length,
    );
  });

  it('serves a GET through a presigned URL, and only for that key', async () => {
    const key = 'up/to-read.png';
    await client.send(
      new PutObjectCommand({ Bucket: buckets.quarantine, Key: key, ContentType: 'image/png', Body: png }),
    );
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: buckets.quarantine, Key: key }), {
      expiresIn: 60,
    });
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), png);

    const otherKey = new URL(url);
    otherKey.pathname = otherKey.pathname.replace('to-read.png', 'avatar.png');
    const refused = await fetch(otherKey);
    assert.equal(refused.status, 403);
    assert.equal(errorCode(await refused.text()), 'SignatureDoesNotMatch');
  });

  it('refuses expired presigned URLs, for PUT and GET', async () => {
    const key = 'up/late.png';
    await client.send(
      new PutObjectCommand({ Bucket: buckets.quarantine, Key: key, ContentType: 'image/png', Body: png }),
    );
    // Signed two minutes ago for one minute: expired a minute ago.
    const signingDate = new Date(Date.now() - 120_000);
    const put = await presignPut(key, 'image/png', png.length, { expiresIn: 60, signingDate });
    const lateUpload = await fetch(put, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: png });
    assert.equal(lateUpload.status, 403);
    const uploadAnswer = await lateUpload.text();
    assert.equal(errorCode(uploadAnswer), 'AccessDenied');
    assert.match(uploadAnswer, /Request has expired/);

    const get = await getSignedUrl(client, new GetObjectCommand({ Bucket: buckets.quarantine, Key: key }), {
      expiresIn: 60,
      signingDate,
    });
    const lateRead = await fetch(get);
    assert.equal(lateRead.status, 403);
    assert.equal(errorCode(await lateRead.text()), 'AccessDenied');

    // Still within its time: accepted (so the refusals above are the expiry's doing).
    const fresh = await getSignedUrl(client, new GetObjectCommand({ Bucket: buckets.quarantine, Key: key }), {
      expiresIn: 180,
      signingDate,
    });
    assert.equal((await fetch(fresh)).status, 200);
  });

  it('enforces content-length-range and the other conditions of a signed POST policy (browser form upload)', async () => {
    const { endpoint, region, accessKeyId, secretAccessKey } = buckets.s3;
    /** Posts `file` as a form upload under a SigV4 POST policy allowing 1 to 64 bytes of image/png under up/. */
    const post = async (file: Buffer, fields: { key: string; contentType: string }, expiresInMs = 60_000) => {
      const now = new Date();
      const amzDate = now
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      const credential = `${accessKeyId}/${amzDate.slice(0, 8)}/${region}/s3/aws4_request`;
      const policy = Buffer.from(
        JSON.stringify({
          expiration: new Date(now.getTime() + expiresInMs).toISOString(),
          conditions: [
            { bucket: buckets.quarantine },
            ['starts-with', '$key', 'up/'],
            { 'Content-Type': 'image/png' },
            ['content-length-range', 1, 64],
            { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
            { 'x-amz-credential': credential },
            { 'x-amz-date': amzDate },
          ],
        }),
      ).toString('base64');
      const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
      const signingKey = ['s3', 'aws4_request'].reduce(
        hmac,
        hmac(hmac(`AWS4${secretAccessKey}`, amzDate.slice(0, 8)), region),
      );
      const form = new FormData();
      for (const [name, value] of Object.entries({
        key: fields.key,
        'Content-Type': fields.contentType,
        'x-amz-algorithm': 'AWS4-HMAC-SHA256',
        'x-amz-credential': credential,
        'x-amz-date': amzDate,
        policy,
        'x-amz-signature': createHmac('sha256', signingKey).update(policy).digest('hex'),
      })) {
        form.append(name, value);
      }
      form.append('file', new Blob([Uint8Array.from(file)]), 'upload.png'); // the file comes last
      const response = await fetch(`${endpoint}/${buckets.quarantine}`, { method: 'POST', body: form });
      return { status: response.status, code: errorCode(await response.text()) };
    };
    const ok = { key: 'up/posted.png', contentType: 'image/png' };
    assert.deepEqual(await post(Buffer.alloc(65, 1), ok), { status: 400, code: 'EntityTooLarge' });
    assert.deepEqual(await post(Buffer.alloc(0), ok), { status: 400, code: 'EntityTooSmall' });
    assert.deepEqual(await post(png, { ...ok, contentType: 'image/gif' }), { status: 403, code: 'AccessDenied' });
    assert.deepEqual(await post(png, { ...ok, key: 'elsewhere/posted.png' }), { status: 403, code: 'AccessDenied' });
    assert.deepEqual(await post(png, ok, -1_000), { status: 403, code: 'AccessDenied' });
    assert.equal(
      await s3Error(client.send(new HeadObjectCommand({ Bucket: buckets.quarantine, Key: ok.key }))),
      'NotFound',
    );
    assert.equal((await post(png, ok)).status, 204);
    const head = await client.send(new HeadObjectCommand({ Bucket: buckets.quarantine, Key: ok.key }));
    assert.equal(head.ContentType, 'image/png');
    assert.equal(head.ContentLength, png.length);
  });

  it('copies an object between the buckets with its metadata, then deletes the original', async () => {
    const key = 'up/move-me.png';
    await client.send(
      new PutObjectCommand({
        Bucket: buckets.quarantine,
        Key: key,
        ContentType: 'image/png',
        Body: png,
        Metadata: { owner: '42' },
      }),
    );
    const copied = await client.send(
      new CopyObjectCommand({
        Bucket: buckets.clean,
        Key: 'media/7.png',
        CopySource: `${buckets.quarantine}/${encodeURIComponent(key)}`,
      }),
    );
    assert.ok(copied.CopyObjectResult?.ETag);

    const head = await client.send(new HeadObjectCommand({ Bucket: buckets.clean, Key: 'media/7.png' }));
    assert.equal(head.ContentType, 'image/png');
    assert.equal(head.ContentLength, png.length);
    assert.deepEqual(head.Metadata, { owner: '42' });
    const body = await (
      await client.send(new GetObjectCommand({ Bucket: buckets.clean, Key: 'media/7.png' }))
    ).Body!.transformToByteArray();
    assert.deepEqual(Buffer.from(body), png);

    await client.send(new DeleteObjectCommand({ Bucket: buckets.quarantine, Key: key }));
    assert.equal(
      await s3Error(client.send(new GetObjectCommand({ Bucket: buckets.quarantine, Key: key }))),
      'NoSuchKey',
    );
    // Deleting what is not there succeeds, as on S3.
    await client.send(new DeleteObjectCommand({ Bucket: buckets.quarantine, Key: key }));
    assert.equal(
      (await client.send(new HeadObjectCommand({ Bucket: buckets.clean, Key: 'media/7.png' }))).ContentLength,
      png.length,
    );
  });
});

describe('createTestBuckets', () => {
  it('drop() removes both buckets with whatever is in them', async () => {
    const pair = await createTestBuckets('Drop Me!');
    const client = new S3Client({
      endpoint: pair.s3.endpoint,
      region: pair.s3.region,
      credentials: { accessKeyId: pair.s3.accessKeyId, secretAccessKey: pair.s3.secretAccessKey },
      forcePathStyle: true,
    });
    try {
      assert.match(pair.clean, /^drop-me-[0-9a-f]{10}-clean$/);
      await client.send(new PutObjectCommand({ Bucket: pair.quarantine, Key: 'a/b', Body: 'x' }));
      await client.send(new PutObjectCommand({ Bucket: pair.clean, Key: 'c', Body: 'y' }));
      await pair.drop();
      for (const bucket of [pair.quarantine, pair.clean])
        assert.equal(await s3Error(client.send(new HeadBucketCommand({ Bucket: bucket }))), 'NotFound');
    } finally {
      client.destroy();
    }
  });
});
