/**
 * The media subgraph's S3 storage (`subgraphs/media/src/storage/s3-storage.ts`)
 * against a real S3-compatible server: the S3Proxy that `npm run services:up`
 * runs on loopback (endpoint and generated credentials in `credentials.json` of
 * its state directory (`~/.local/state/federated-chat/s3proxy`), written by
 * `scripts/services/s3proxy/s3proxy.sh`), or the store named by
 * `TEST_S3_ENDPOINT`, `TEST_S3_ACCESS_KEY`, `TEST_S3_SECRET_KEY` (and
 * `TEST_S3_REGION`), as the test kit's `testS3()` reads them. Each run uses a
 * pair of buckets of its own and removes them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ObjectNotFoundError, S3ObjectStorage } from '@chat/subgraph-media';
import { testS3 } from '../kit/media-stores.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with exactly these headers (Node adds only Host), so lengths and types can lie. */
function send(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path: `${target.pathname}${target.search}`,
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    // A store may answer and close before the whole body is sent: the answer is what counts.
    req.on('error', reject);
    req.end(body);
  });
}

const s3 = testS3();
const run = randomBytes(4).toString('hex');
const buckets = { quarantine: `media-test-${run}-quarantine`, clean: `media-test-${run}-clean` };
const admin = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});
let storage: S3ObjectStorage;
let counter = 0;
const newKey = () => `${Date.now()}${counter++}/${randomBytes(9).toString('base64url')}`;

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An object uploaded to quarantine through a presigned URL, as a client does. */
async function uploaded(body: Buffer, contentType = 'image/png'): Promise<string> {
  const key = newKey();
  const ticket = await storage.presignUpload({ key, contentType, size: body.length, expiresInSeconds: 60 });
  const answer = await send('PUT', ticket.url, ticket.headers, body);
  assert.equal(answer.status, 200, answer.body.toString());
  return key;
}

before(async () => {
  storage = new S3ObjectStorage({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
    buckets,
  });
  await storage.ensureBuckets();
});

after(async () => {
  await storage.close();
  for (const bucket of Object.values(buckets)) {
    try {
      const { Contents = [] } = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
      if (Contents.length > 0)
        await admin.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: Contents.map(({ Key }) => ({ Key })), Quiet: true },
          }),
        );
      await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    } catch {
      // Best effort: the buckets' names are unique to this run.
    }
  }
  admin.destroy();
});

describe('S3ObjectStorage on a real S3-compatible server', () => {
  test('ensureBuckets is idempotent', async () => {
    await storage.ensureBuckets();
    assert.equal(await storage.size('clean', newKey()), null);
  });

  test('a presigned PUT signs the length and type, and stores exactly the bytes', async () => {
    const key = newKey();
    const body = randomBytes(5000);
    const ticket = await storage.presignUpload({
      key,
      contentType: 'image/png',
      size: body.length,
      expiresInSeconds: 60,
    });
    const url = new URL(ticket.url);
    assert.equal(url.pathname, `/${buckets.quarantine}/${key}`);
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '60');
    assert.ok(
      ![...url.searchParams.keys()].some((name) => name.toLowerCase().startsWith('x-amz-checksum')),
      'no checksum of an empty body in the URL',
    );
    assert.deepEqual(ticket.headers, { 'Content-Type': 'image/png', 'Content-Length': '5000' });
    assert.ok(Math.abs(ticket.expiresAt.getTime() - (Date.now() + 60_000)) < 2000);

    const answer = await send('PUT', ticket.url, ticket.headers, body);
    assert.equal(answer.status, 200, answer.body.toString());
    assert.equal(await storage.size('quarantine', key), 5000);
    assert.deepEqual(await readAll(await storage.read('quarantine', key)), body);
    const head = await admin.send(new HeadObjectCommand({ Bucket: buckets.quarantine, Key: key }));
    assert.equal(head.ContentType, 'image/png');
  });

  test('fetch with the ticket headers uploads too (what a JavaScript client does)', async () => {
    const key = newKey();
    const body = randomBytes(300);
    const ticket = await storage.presignUpload({
      key,
      contentType: 'application/pdf',
      size: body.length,
      expiresInSeconds: 60,
    });
    const answer = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body });
    assert.equal(answer.status, 200, await answer.text());
    assert.equal(await storage.size('quarantine', key), 300);
  });

  test('a body larger or smaller than signed is refused, nothing stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 100, expiresInSeconds: 60 });
    for (const size of [101, 10_000, 99, 0]) {
      const answer = await send(
        'PUT',
        ticket.url,
        { 'Content-Type': 'image/png', 'Content-Length': String(size) },
        randomBytes(size),
      );
      assert.equal(answer.status, 403, `${size} bytes: ${answer.body.toString()}`);
      assert.match(answer.body.toString(), /SignatureDoesNotMatch|AccessDenied/);
    }
    assert.equal(await storage.size('quarantine', key), null);
  });

  test('another Content-Type than signed is refused, nothing stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    for (const headers of [
      { 'Content-Type': 'text/html', 'Content-Length': '10' },
      { 'Content-Length': '10' },
    ] as Record<string, string>[]) {
      const answer = await send('PUT', ticket.url, headers, randomBytes(10));
      assert.equal(answer.status, 403, JSON.stringify(headers));
    }
    assert.equal(await storage.size('quarantine', key), null);
  });

  test('a presigned GET answers the signed content type, disposition and caching', async () => {
    const body = randomBytes(2000);
    const key = await uploaded(body, 'application/pdf');
    await storage.promote(key);
    const url = await storage.presignDownload(key, {
      contentType: 'application/pdf',
      fileName: 'Année "report".pdf',
      expiresInSeconds: 120,
    });
    assert.equal(new URL(url).pathname, `/${buckets.clean}/${key}`);
    const answer = await send('GET', url);
    assert.equal(answer.status, 200, answer.body.toString());
    assert.deepEqual(answer.body, body);
    assert.equal(answer.headers['content-type'], 'application/pdf');
    assert.equal(
      answer.headers['content-disposition'],
      `attachment; filename="Ann_e _report_.pdf"; filename*=UTF-8''Ann%C3%A9e%20%22report%22.pdf`,
    );
    assert.equal(answer.headers['cache-control'], 'private, max-age=120');

    const unnamed = await send(
      'GET',
      await storage.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 60 }),
    );
    assert.equal(
      unnamed.headers['content-disposition'],
      `attachment; filename="download.png"; filename*=UTF-8''download.png`,
    );
    assert.equal(unnamed.headers['content-type'], 'image/png');
  });

  test("every download is an attachment named with its type's extension, without bidi or control characters", async () => {
    const key = await uploaded(randomBytes(10), 'text/plain');
    await storage.promote(key);
    // Shown as "invoiceexe.pdf" by a right-to-left override; saved as what it is.
    const spoofed = await send(
      'GET',
      await storage.presignDownload(key, {
        contentType: 'application/pdf',
        fileName: 'invoice\u202Efdp.exe',
        expiresInSeconds: 60,
      }),
    );
    assert.equal(spoofed.status, 200, spoofed.body.toString());
    assert.equal(
      spoofed.headers['content-disposition'],
      `attachment; filename="invoicefdp.pdf"; filename*=UTF-8''invoicefdp.pdf`,
    );
    // HTML declared (and checked) as text: saved as text, never as .html.
    const html = await send(
      'GET',
      await storage.presignDownload(key, { contentType: 'text/plain', fileName: 'x.html', expiresInSeconds: 60 }),
    );
    assert.equal(html.headers['content-disposition'], `attachment; filename="x.txt"; filename*=UTF-8''x.txt`);
    assert.equal(html.headers['content-type'], 'text/plain');
  });

  test('a download URL rewritten to quarantine, or with a tampered response header, is refused', async () => {
    const key = await uploaded(randomBytes(10));
    await storage.write('clean', key, randomBytes(10), 'image/png');
    const url = await storage.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 60 });
    const rewritten = await send('GET', url.replace(`/${buckets.clean}/`, `/${buckets.quarantine}/`));
    assert.equal(rewritten.status, 403);
    const tampered = new URL(url);
    tampered.searchParams.set('response-content-type', 'text/html');
    assert.equal((await send('GET', tampered.href)).status, 403);
    assert.equal((await send('GET', url)).status, 200);
  });

  test('expired URLs are refused (GET and PUT)', async () => {
    const key = newKey();
    await storage.write('clean', key, randomBytes(10), 'image/png');
    const download = await storage.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 1 });
    const uploadKey = newKey();
    const upload = await storage.presignUpload({
      key: uploadKey,
      contentType: 'image/png',
      size: 10,
      expiresInSeconds: 1,
    });
    // SigV4 expiry counts whole seconds from X-Amz-Date.
    await new Promise((resolve) => setTimeout(resolve, 2200));
    const get = await send('GET', download);
    assert.equal(get.status, 403, get.body.toString());
    assert.match(get.body.toString(), /expired/i);
    const put = await send('PUT', upload.url, upload.headers, randomBytes(10));
    assert.equal(put.status, 403, put.body.toString());
    assert.equal(await storage.size('quarantine', uploadKey), null);
  });

  test('promote moves the object and is idempotent; it never replaces a clean object', async () => {
    const body = randomBytes(1000);
    const key = await uploaded(body, 'image/png');
    await storage.promote(key);
    assert.equal(await storage.size('quarantine', key), null);
    assert.equal(await storage.size('clean', key), 1000);
    assert.deepEqual(await readAll(await storage.read('clean', key)), body);
    const head = await admin.send(new HeadObjectCommand({ Bucket: buckets.clean, Key: key }));
    assert.equal(head.ContentType, 'image/png', 'the content type travels with the copy');
    await storage.promote(key);
    assert.equal(await storage.size('clean', key), 1000);

    // A crash between copy and delete leaves both: the next promote keeps the clean one, drops the other.
    await admin.send(new PutObjectCommand({ Bucket: buckets.quarantine, Key: key, Body: Buffer.from('other bytes') }));
    await storage.promote(key);
    assert.equal(await storage.size('quarantine', key), null);
    assert.deepEqual(await readAll(await storage.read('clean', key)), body);

    await assert.rejects(storage.promote(newKey()), ObjectNotFoundError);
  });

  test('write, read, size, delete; delete is idempotent; missing objects are null or ObjectNotFoundError', async () => {
    const key = `${newKey()}.thumb`;
    const body = randomBytes(700);
    await storage.write('clean', key, body, 'image/webp');
    assert.equal(await storage.size('clean', key), 700);
    assert.deepEqual(await readAll(await storage.read('clean', key)), body);
    await storage.delete('clean', key);
    await storage.delete('clean', key);
    await storage.delete('quarantine', newKey());
    assert.equal(await storage.size('clean', key), null);
    await assert.rejects(storage.read('clean', key), ObjectNotFoundError);
  });

  test('invalid keys never reach the store', async () => {
    for (const bad of ['../x', '/etc/passwd', 'a//b', 'a\\b', '']) {
      await assert.rejects(
        storage.presignUpload({ key: bad, contentType: 'image/png', size: 1, expiresInSeconds: 60 }),
        TypeError,
      );
      await assert.rejects(storage.size('clean', bad), TypeError);
    }
  });
});
