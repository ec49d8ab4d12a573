/**
 * The local storage and its gateway route over real HTTP: a `node:http`
 * server on loopback with `createLocalMediaHandler`, real files in a
 * temporary directory, raw sockets where a client library would not lie.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalMediaHandler } from './local-media-handler.ts';
import { LocalObjectStorage } from './local-storage.ts';
import { ObjectNotFoundError } from './object-storage.ts';

const KEY = randomBytes(32);
let dir: string;
let root: string;
let server: Server;
let base: string;
let storage: LocalObjectStorage;
let counter = 0;

/** A fresh key, shaped as the media subgraph makes them (`<id>/<random>`). */
const newKey = () => `${Date.now()}${counter++}/${randomBytes(9).toString('base64url')}`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One request with exactly these headers (Node adds only Host). A target
 * starting with `/` is sent as it is, unnormalized; a URL is sent as its
 * path and query.
 */
function send(method: string, target: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
  const path = target.startsWith('/') ? target : `${new URL(target).pathname}${new URL(target).search}`;
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Bytes written to a socket as they are; what comes back until the server closes (or 2 s). */
function rawExchange(bytes: Buffer): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', done);
    socket.on('error', () => {});
    socket.setTimeout(2000, () => socket.destroy());
    socket.write(bytes);
  });
}

const json = (answer: Answer) => JSON.parse(answer.body.toString('utf8')) as { error: string; code: string };

async function put(url: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return send('PUT', url, headers, body);
}

async function files(bucket: 'quarantine' | 'clean' | 'tmp'): Promise<string[]> {
  return (await readdir(join(root, bucket), { recursive: true })).map(String).sort();
}

/** Nothing stored for `key` in either bucket, and no temporary file left behind. */
async function assertNothingStored(key: string): Promise<void> {
  assert.equal(await storage.size('quarantine', key), null);
  assert.equal(await storage.size('clean', key), null);
  assert.deepEqual(await files('tmp'), []);
}

/** An uploaded (and, with `promote`, promoted) object of `body.length` bytes. */
async function uploaded(body: Buffer, contentType = 'image/png', promote = false): Promise<string> {
  const key = newKey();
  const ticket = await storage.presignUpload({ key, contentType, size: body.length, expiresInSeconds: 60 });
  const answer = await put(ticket.url, ticket.headers, body);
  assert.equal(answer.status, 200, answer.body.toString());
  if (promote) await storage.promote(key);
  return key;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-local-'));
  root = join(dir, 'media');
  server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(418).end('not media');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  storage = new LocalObjectStorage({ root, key: KEY, publicBaseUrl: base });
  handler = createLocalMediaHandler(storage);
  // A file beside the storage root that no URL may ever reach.
  await writeFile(join(dir, 'secret.txt'), 'secret');
});
let handler: ReturnType<typeof createLocalMediaHandler>;

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('uploads (PUT to quarantine)', () => {
  test('a PUT with the signed length and type stores exactly the bytes', async () => {
    const key = newKey();
    const body = randomBytes(1000);
    const ticket = await storage.presignUpload({
      key,
      contentType: 'image/png',
      size: body.length,
      expiresInSeconds: 60,
    });
    assert.match(
      ticket.url,
      new RegExp(`^${base}/media/quarantine/${key}\\?exp=\\d+&ct=image%2Fpng&len=1000&sig=[A-Za-z0-9_-]{43}$`),
    );
    assert.deepEqual(ticket.headers, { 'Content-Type': 'image/png', 'Content-Length': '1000' });
    assert.ok(Math.abs(ticket.expiresAt.getTime() - (Date.now() + 60_000)) < 2000);

    const answer = await put(ticket.url, ticket.headers, body);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body.toString()), { size: 1000 });
    assert.equal(await storage.size('quarantine', key), 1000);
    assert.deepEqual(await readFile(join(root, 'quarantine', ...key.split('/'))), body);
    assert.deepEqual(await files('tmp'), []);
  });

  test('a larger Content-Length is refused with 413 before anything is stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    const answer = await put(ticket.url, { 'Content-Type': 'image/png', 'Content-Length': '20' }, randomBytes(20));
    assert.equal(answer.status, 413);
    assert.equal(json(answer).code, 'TOO_LARGE');
    assert.equal(answer.headers.connection, 'close');
    await assertNothingStored(key);
  });

  test('a huge declared Content-Length is refused without reading the body', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    const path = ticket.url.slice(base.length);
    // Declares 10 GB, sends 5 bytes and waits: the answer comes anyway, and the connection is closed.
    const answer = await rawExchange(
      Buffer.from(
        `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 10000000000\r\n\r\nhello`,
      ),
    );
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /"code":"TOO_LARGE"/);
    await assertNothingStored(key);
  });

  test('a smaller Content-Length is refused, nothing stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    const answer = await put(ticket.url, { 'Content-Type': 'image/png', 'Content-Length': '5' }, randomBytes(5));
    assert.equal(answer.status, 400);
    assert.equal(json(answer).code, 'LENGTH_MISMATCH');
    await assertNothingStored(key);
  });

  test('a chunked body without Content-Length is refused with 411, nothing stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    const answer = await put(
      ticket.url,
      { 'Content-Type': 'image/png', 'Transfer-Encoding': 'chunked' },
      randomBytes(10),
    );
    assert.equal(answer.status, 411);
    assert.equal(json(answer).code, 'LENGTH_REQUIRED');
    await assertNothingStored(key);
  });

  test('a body longer than its Content-Length: the signed size is stored, the surplus is refused as a bad next request', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'application/pdf', size: 10, expiresInSeconds: 60 });
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(
      `PUT ${ticket.url.slice(base.length)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 10\r\n\r\n0123456789`,
    );
    const deadline = Date.now() + 5000;
    while (!received.includes('{"size":10}') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    socket.write('X'.repeat(5000));
    await closed;
    assert.match(received, /^HTTP\/1\.1 200 /);
    assert.match(received, /HTTP\/1\.1 400 Bad Request/);
    assert.equal((await readFile(join(root, 'quarantine', ...key.split('/')))).toString(), '0123456789');
    assert.deepEqual(await files('tmp'), []);
  });

  test('a body longer than its Content-Length in one write: at most the signed size is ever stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'application/pdf', size: 10, expiresInSeconds: 60 });
    const answer = await rawExchange(
      Buffer.from(
        `PUT ${ticket.url.slice(base.length)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 10\r\n\r\n0123456789${'X'.repeat(5000)}`,
      ),
    );
    // The parser refuses the surplus and closes the socket, possibly before the upload was written (then nothing is).
    assert.match(answer, /HTTP\/1\.1 400 Bad Request/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok([null, 10].includes(await storage.size('quarantine', key)));
    assert.deepEqual(await files('tmp'), []);
  });

  test('both Content-Length and Transfer-Encoding (a smuggling attempt): refused, nothing stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    const path = ticket.url.slice(base.length);
    const answer = await rawExchange(
      Buffer.from(
        `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n${'A'.repeat(20)}\r\n0\r\n\r\n`,
      ),
    );
    assert.match(answer, /^HTTP\/1\.1 4\d\d /);
    await assertNothingStored(key);
  });

  test('the write itself is capped at the signed size, whatever the stream delivers', async () => {
    const key = newKey();
    async function* lying() {
      yield Buffer.alloc(8);
      yield Buffer.alloc(8);
    }
    assert.equal(await storage.storeUpload(key, lying(), 10), 'too-large');
    await assertNothingStored(key);
    async function* short() {
      yield Buffer.alloc(4);
    }
    assert.equal(await storage.storeUpload(key, short(), 10), 'short');
    await assertNothingStored(key);
  });

  test('a client that disconnects mid-body leaves nothing behind', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 100_000, expiresInSeconds: 60 });
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(
      `PUT ${ticket.url.slice(base.length)} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n${'A'.repeat(1000)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await assertNothingStored(key);
  });

  test('a wrong Content-Type is refused with 415, nothing stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    for (const contentType of ['text/html', 'image/png; charset=utf-8', 'IMAGE/PNG']) {
      const answer = await put(ticket.url, { 'Content-Type': contentType, 'Content-Length': '10' }, randomBytes(10));
      assert.equal(answer.status, 415, contentType);
      assert.equal(json(answer).code, 'CONTENT_TYPE_MISMATCH');
    }
    const none = await put(ticket.url, { 'Content-Length': '10' }, randomBytes(10));
    assert.equal(none.status, 415);
    await assertNothingStored(key);
  });

  test('an expired URL is refused with 410, nothing stored', async () => {
    const key = newKey();
    const anHourAgo = new LocalObjectStorage({
      root,
      key: KEY,
      publicBaseUrl: base,
      now: () => Date.now() - 3_600_000,
    });
    const ticket = await anHourAgo.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    const answer = await put(ticket.url, ticket.headers, randomBytes(10));
    assert.equal(answer.status, 410);
    assert.equal(json(answer).code, 'EXPIRED');
    await assertNothingStored(key);
  });

  test('any tampered part of the URL is refused with 403, nothing stored', async () => {
    const key = newKey();
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    const url = new URL(ticket.url);
    const exp = Number(url.searchParams.get('exp'));
    const sig = url.searchParams.get('sig')!;
    const variants: [string, (u: URL) => void][] = [
      ['another key', (u) => (u.pathname = u.pathname.replace(key, newKey()))],
      ['a later expiry', (u) => u.searchParams.set('exp', String(exp + 3600))],
      ['a larger size', (u) => u.searchParams.set('len', '1000000')],
      ['another type', (u) => u.searchParams.set('ct', 'text/html')],
      ['a flipped signature', (u) => u.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`)],
      ['a truncated signature', (u) => u.searchParams.set('sig', sig.slice(0, 20))],
      ['no signature', (u) => u.searchParams.delete('sig')],
      ['two signatures', (u) => u.searchParams.append('sig', sig)],
      ['no expiry', (u) => u.searchParams.delete('exp')],
    ];
    for (const [name, change] of variants) {
      const tampered = new URL(url);
      change(tampered);
      const size = tampered.searchParams.get('len') ?? '10';
      const contentType = tampered.searchParams.get('ct') ?? 'image/png';
      const answer = await put(
        tampered.href,
        { 'Content-Type': contentType, 'Content-Length': size },
        randomBytes(Number(size)),
      );
      assert.equal(answer.status, 403, name);
      assert.equal(json(answer).code, 'FORBIDDEN', name);
    }
    await assertNothingStored(key);
  });

  test('a URL signed with another key is refused with 403', async () => {
    const key = newKey();
    const other = new LocalObjectStorage({ root, key: randomBytes(32), publicBaseUrl: base });
    const ticket = await other.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    const answer = await put(ticket.url, ticket.headers, randomBytes(10));
    assert.equal(answer.status, 403);
    assert.equal(json(answer).code, 'FORBIDDEN');
    await assertNothingStored(key);
  });

  test('a download URL cannot upload, and nothing uploads to clean', async () => {
    const key = newKey();
    const download = await storage.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 60 });
    const toClean = await put(download, { 'Content-Type': 'image/png', 'Content-Length': '10' }, randomBytes(10));
    assert.equal(toClean.status, 403);
    const toQuarantine = await put(
      download.replace('/media/clean/', '/media/quarantine/'),
      { 'Content-Type': 'image/png', 'Content-Length': '10' },
      randomBytes(10),
    );
    assert.equal(toQuarantine.status, 403);
    await assertNothingStored(key);
  });

  test('an upload is written once: a second PUT, before or after promotion, is refused with 409', async () => {
    const key = newKey();
    const first = randomBytes(10);
    const ticket = await storage.presignUpload({ key, contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    assert.equal((await put(ticket.url, ticket.headers, first)).status, 200);
    const again = await put(ticket.url, ticket.headers, randomBytes(10));
    assert.equal(again.status, 409);
    assert.equal(json(again).code, 'ALREADY_UPLOADED');
    await storage.promote(key);
    assert.equal((await put(ticket.url, ticket.headers, randomBytes(10))).status, 409);
    assert.equal(await storage.size('quarantine', key), null);
    assert.deepEqual(await readFile(join(root, 'clean', ...key.split('/'))), first);
  });

  test('a browser preflight is answered; other methods are 405', async () => {
    const ticket = await storage.presignUpload({
      key: newKey(),
      contentType: 'image/png',
      size: 10,
      expiresInSeconds: 60,
    });
    const preflight = await send('OPTIONS', ticket.url, {
      Origin: 'https://app.example',
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'content-type',
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    assert.match(String(preflight.headers['access-control-allow-methods']), /PUT/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /content-type/);
    const remove = await send('DELETE', ticket.url);
    assert.equal(remove.status, 405);
    assert.equal(json(remove).code, 'METHOD_NOT_ALLOWED');
    assert.equal(remove.headers.allow, 'PUT');
  });
});

describe('downloads (GET and HEAD from clean)', () => {
  test('promote, then GET serves the bytes with the signed headers', async () => {
    const body = randomBytes(3000);
    const key = await uploaded(body, 'application/pdf', true);
    const url = await storage.presignDownload(key, {
      contentType: 'application/pdf',
      fileName: 'Année "report".pdf',
      expiresInSeconds: 300,
    });
    assert.match(
      url,
      new RegExp(
        `^${base}/media/clean/${key}\\?exp=\\d+&ct=application%2Fpdf&cd=attachment[^&]+&sig=[A-Za-z0-9_-]{43}$`,
      ),
    );
    const answer = await send('GET', url);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, body);
    assert.equal(answer.headers['content-type'], 'application/pdf');
    assert.equal(
      answer.headers['content-disposition'],
      `attachment; filename="Ann_e _report_.pdf"; filename*=UTF-8''Ann%C3%A9e%20%22report%22.pdf`,
    );
    assert.equal(answer.headers['x-content-type-options'], 'nosniff');
    assert.match(String(answer.headers['content-security-policy']), /sandbox/);
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(String(answer.headers['cache-control']))?.[1]);
    assert.ok(maxAge > 290 && maxAge <= 300, String(answer.headers['cache-control']));
    assert.equal(answer.headers['content-length'], '3000');
    assert.equal(answer.headers['access-control-allow-origin'], '*');
  });

  test("every download is an attachment named with its type's extension, without bidi or control characters", async () => {
    const key = await uploaded(randomBytes(10), 'image/png', true);
    const unnamed = await send(
      'GET',
      await storage.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 60 }),
    );
    assert.equal(unnamed.status, 200);
    assert.equal(
      unnamed.headers['content-disposition'],
      `attachment; filename="download.png"; filename*=UTF-8''download.png`,
    );
    assert.equal(unnamed.headers['content-type'], 'image/png');
    // Shown as "invoiceexe.pdf" by a right-to-left override; saved as a PDF, which is what it is.
    const spoofed = await send(
      'GET',
      await storage.presignDownload(key, {
        contentType: 'application/pdf',
        fileName: 'invoice\u202Efdp.exe',
        expiresInSeconds: 60,
      }),
    );
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
    assert.equal(html.headers['x-content-type-options'], 'nosniff');
  });

  test('HEAD answers the same headers without the body', async () => {
    const key = await uploaded(randomBytes(1234), 'video/mp4', true);
    const url = await storage.presignDownload(key, { contentType: 'video/mp4', expiresInSeconds: 60 });
    const answer = await send('HEAD', url);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.length, 0);
    assert.equal(answer.headers['content-length'], '1234');
    assert.equal(answer.headers['content-type'], 'video/mp4');
    assert.equal(answer.headers['x-content-type-options'], 'nosniff');
    assert.equal(answer.headers['accept-ranges'], 'bytes');
  });

  test('a single byte range is served with 206 (video seeking); one outside the object is 416', async () => {
    const body = randomBytes(100);
    const key = await uploaded(body, 'video/mp4', true);
    const url = await storage.presignDownload(key, { contentType: 'video/mp4', expiresInSeconds: 60 });
    const part = await send('GET', url, { Range: 'bytes=10-19' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], 'bytes 10-19/100');
    assert.deepEqual(part.body, body.subarray(10, 20));
    const tail = await send('GET', url, { Range: 'bytes=-5' });
    assert.deepEqual(tail.body, body.subarray(95));
    const outside = await send('GET', url, { Range: 'bytes=100-' });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers['content-range'], 'bytes */100');
  });

  test('a quarantined object is never served, whatever the URL says', async () => {
    const key = await uploaded(randomBytes(10));
    const url = await storage.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 60 });
    // A valid GET URL of a key that is only in quarantine: not found in clean.
    const notPromoted = await send('GET', url);
    assert.equal(notPromoted.status, 404);
    assert.equal(json(notPromoted).code, 'NOT_FOUND');
    // The same URL rewritten to the quarantine bucket.
    const rewritten = await send('GET', url.replace('/media/clean/', '/media/quarantine/'));
    assert.equal(rewritten.status, 403);
    assert.equal(json(rewritten).code, 'FORBIDDEN');
    // The upload URL itself, used to GET.
    const ticket = await storage.presignUpload({
      key: newKey(),
      contentType: 'image/png',
      size: 10,
      expiresInSeconds: 60,
    });
    assert.equal((await send('GET', ticket.url)).status, 403);
    assert.equal((await send('HEAD', url.replace('/media/clean/', '/media/quarantine/'))).status, 403);
  });

  test('an expired, tampered or foreign download URL is refused', async () => {
    const key = await uploaded(randomBytes(10), 'image/png', true);
    const anHourAgo = new LocalObjectStorage({
      root,
      key: KEY,
      publicBaseUrl: base,
      now: () => Date.now() - 3_600_000,
    });
    const expired = await send(
      'GET',
      await anHourAgo.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 60 }),
    );
    assert.equal(expired.status, 410);
    assert.equal(json(expired).code, 'EXPIRED');

    const url = new URL(
      await storage.presignDownload(key, { contentType: 'image/png', fileName: 'a.png', expiresInSeconds: 60 }),
    );
    for (const [name, value] of [
      ['ct', 'text/html'],
      ['cd', 'inline'],
      ['exp', String(Number(url.searchParams.get('exp')) + 60)],
    ] as const) {
      const tampered = new URL(url);
      tampered.searchParams.set(name, value);
      const answer = await send('GET', tampered.href);
      assert.equal(answer.status, 403, name);
      assert.equal(json(answer).code, 'FORBIDDEN');
    }
    const other = new LocalObjectStorage({ root, key: randomBytes(32), publicBaseUrl: base });
    const foreign = await send(
      'GET',
      await other.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 60 }),
    );
    assert.equal(foreign.status, 403);
  });

  test('path traversal is impossible: dot segments, encoded, absolute and backslashed paths are refused', async () => {
    const key = await uploaded(randomBytes(10), 'image/png', false);
    const url = new URL(await storage.presignDownload(key, { contentType: 'image/png', expiresInSeconds: 60 }));
    const query = url.search;
    const paths = [
      `/media/clean/../quarantine/${key}`,
      `/media/clean/%2e%2e/quarantine/${key}`,
      `/media/clean/%2E%2E%2Fquarantine%2F${key.replace('/', '%2F')}`,
      `/media/clean/..%2fquarantine/${key}`,
      `/media/clean/./${key}`,
      `/media/clean/${key.split('/')[0]}/../../quarantine/${key}`,
      '/media/clean/../../secret.txt',
      '/media/clean/%2e%2e/%2e%2e/secret.txt',
      '/media/clean/..%5c..%5csecret.txt',
      '/media/clean/..\\..\\secret.txt',
      '/media/clean//etc/passwd',
      '/media//etc/passwd',
      '/media/clean/%2Fetc%2Fpasswd',
      '/media/clean/etc/passwd%00.png',
      '/media/clean/%',
      '/media/clean/',
      '/media/tmp/x',
      '/media/../secret.txt',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'PUT']) {
        const answer = await send(
          method,
          `${path}${query}`,
          method === 'PUT' ? { 'Content-Type': 'image/png', 'Content-Length': '10' } : {},
          method === 'PUT' ? randomBytes(10) : undefined,
        );
        assert.equal(answer.status, 400, `${method} ${path}`);
        assert.equal(json(answer).code, 'BAD_PATH', `${method} ${path}`);
      }
    }
    // Keys are checked wherever they enter, so no signed URL can name such a path either.
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', 'a\\b', '%2e%2e', '', 'a b']) {
      await assert.rejects(
        storage.presignUpload({ key: bad, contentType: 'image/png', size: 1, expiresInSeconds: 60 }),
        TypeError,
        bad,
      );
      await assert.rejects(
        storage.presignDownload(bad, { contentType: 'image/png', expiresInSeconds: 60 }),
        TypeError,
        bad,
      );
      assert.throws(() => storage.pathOf('clean', bad), TypeError, bad);
    }
    assert.equal(await readFile(join(dir, 'secret.txt'), 'utf8'), 'secret');
  });

  test('paths outside /media/ are left to the caller', async () => {
    const answer = await send('GET', '/mediax/clean/a');
    assert.equal(answer.status, 418);
    assert.equal((await send('GET', '/graphql')).status, 418);
  });
});

describe('the storage interface', () => {
  test('write, size, read, delete; delete is idempotent; a missing object reads as ObjectNotFoundError', async () => {
    const key = `${newKey()}.thumb`;
    const body = randomBytes(500);
    await storage.write('clean', key, body, 'image/webp');
    assert.equal(await storage.size('clean', key), 500);
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.read('clean', key)) chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), body);
    await storage.delete('clean', key);
    await storage.delete('clean', key);
    assert.equal(await storage.size('clean', key), null);
    await assert.rejects(storage.read('clean', key), ObjectNotFoundError);
    assert.deepEqual(await files('tmp'), []);
  });

  test('promote is idempotent and never replaces a clean object; promoting nothing throws', async () => {
    const body = randomBytes(10);
    const key = await uploaded(body);
    await storage.promote(key);
    await storage.promote(key);
    assert.equal(await storage.size('quarantine', key), null);
    assert.deepEqual(await readFile(join(root, 'clean', ...key.split('/'))), body);
    // A crash between link and unlink leaves both names: the next promote keeps the clean one.
    await writeFile(join(root, 'quarantine', ...key.split('/')), 'other bytes');
    await storage.promote(key);
    assert.equal(await storage.size('quarantine', key), null);
    assert.deepEqual(await readFile(join(root, 'clean', ...key.split('/'))), body);
    await assert.rejects(storage.promote(newKey()), ObjectNotFoundError);
  });

  test('temporary files a crashed process left are swept; fresh ones are kept', async () => {
    const sweptRoot = join(dir, 'swept');
    await mkdir(join(sweptRoot, 'tmp'), { recursive: true });
    await writeFile(join(sweptRoot, 'tmp', 'old.part'), 'x');
    await writeFile(join(sweptRoot, 'tmp', 'fresh.part'), 'x');
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    await utimes(join(sweptRoot, 'tmp', 'old.part'), twoHoursAgo, twoHoursAgo);
    const swept = new LocalObjectStorage({ root: sweptRoot, key: KEY, publicBaseUrl: base });
    await swept.write('clean', newKey(), Buffer.from('x'), 'text/plain');
    assert.deepEqual(await readdir(join(sweptRoot, 'tmp')), ['fresh.part']);
  });

  test('the signing key must have at least 32 bytes', () => {
    assert.throws(() => new LocalObjectStorage({ root, key: randomBytes(16), publicBaseUrl: base }), RangeError);
    assert.throws(() => new LocalObjectStorage({ root, key: randomBytes(32), publicBaseUrl: 'ftp://x' }), TypeError);
  });

  test('URL lifetimes and content types are checked when signing', async () => {
    const key = newKey();
    await assert.rejects(
      storage.presignUpload({ key, contentType: 'image/png', size: 1, expiresInSeconds: 0 }),
      RangeError,
    );
    await assert.rejects(
      storage.presignUpload({ key, contentType: 'image/png', size: 1, expiresInSeconds: 8 * 24 * 3600 }),
      RangeError,
    );
    await assert.rejects(
      storage.presignUpload({ key, contentType: 'image/png\r\nX-Evil: 1', size: 1, expiresInSeconds: 60 }),
      TypeError,
    );
    await assert.rejects(
      storage.presignUpload({ key, contentType: 'image/png', size: -1, expiresInSeconds: 60 }),
      RangeError,
    );
  });
});
