/**
 * Media end to end, in both storage modes: the embedded gateway on local disk
 * (signed URLs served by the gateway) and the distributed topology on a real
 * S3-compatible store (S3Proxy), both scanning with a clamd of the test's own.
 * Upload, process and download of an image, a GIF, a short video and a PDF;
 * refusals of a renamed executable, the EICAR test file, an oversized upload
 * (before any byte is stored), and expired, tampered or foreign URLs;
 * attachments seen by chat members only; avatars; status by subscription.
 */

/** Download URLs last this long in these suites, so expiry can be watched. */
const URL_TTL_SECONDS = 4;
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { gql, gqlOk, Subscription, wsClient } from '../kit/client.ts';
import { createTestBuckets, startClamd, testS3 } from '../kit/launcher.ts';
import { directChat, registerUser, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded } from '../kit/topology.ts';

const CREATE =
  'mutation ($input: CreateUploadInput!) { createUpload(input: $input) { mediaId uploadUrl headers { name value } expiresAt } }';
const COMPLETE = 'mutation ($id: ID!) { completeUpload(mediaId: $id) { id status } }';
const MEDIA =
  'query ($id: ID!) { media(id: $id) { id kind status rejectionReason contentType size width height durationMs url thumbnailUrl } }';

/** The EICAR anti-virus test file: harmless, detected by every scanner by design. */
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

interface Sample {
  fileName: string;
  contentType: string;
  body: Buffer;
}

async function samples(): Promise<Record<'png' | 'gif' | 'mp4' | 'pdf', Sample>> {
  const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 30, b: 60 } } })
    .png()
    .toBuffer();
  const frames = await Promise.all(
    [0, 1, 2].map((i) =>
      sharp({ create: { width: 120, height: 90, channels: 4, background: { r: 80 * i, g: 100, b: 200, alpha: 1 } } })
        .png()
        .toBuffer(),
    ),
  );
  const gif = await sharp(frames, { join: { animated: true } })
    .gif({ delay: 100 })
    .toBuffer();
  const dir = mkdtempSync(join(tmpdir(), 'media-e2e-'));
  try {
    const path = join(dir, 'clip.mp4');
    await promisify(execFile)('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=duration=2:size=320x240:rate=10',
      '-pix_fmt',
      'yuv420p',
      path,
    ]);
    const mp4 = readFileSync(path);
    return {
      png: { fileName: 'photo.png', contentType: 'image/png', body: png },
      gif: { fileName: 'wave.gif', contentType: 'image/gif', body: gif },
      mp4: { fileName: 'clip.mp4', contentType: 'video/mp4', body: mp4 },
      pdf: { fileName: 'notes.pdf', contentType: 'application/pdf', body: minimalPdf() },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A small, valid one-page PDF. */
function minimalPdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(body.length);
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

function mediaSuite(name: string, start: () => Promise<{ url: string; stop(): Promise<void> }>) {
  describe(name, () => {
    let url: string;
    let stop: () => Promise<void>;
    let files: Awaited<ReturnType<typeof samples>>;
    let ann: TestUser;
    let bob: TestUser;

    before(async () => {
      const started = await start();
      url = started.url;
      stop = started.stop;
      files = await samples();
      [ann, bob] = [await registerUser(url, 'ann'), await registerUser(url, 'bob')];
    });
    after(() => stop?.());

    const createUpload = (user: TestUser, sample: Sample, purpose = 'MESSAGE_ATTACHMENT', size = sample.body.length) =>
      gql(
        url,
        CREATE,
        { input: { fileName: sample.fileName, contentType: sample.contentType, size, purpose } },
        user.token,
      );

    /** The whole flow: ticket, PUT, complete, then waits for processing to finish. */
    const upload = async (user: TestUser, sample: Sample, purpose = 'MESSAGE_ATTACHMENT') => {
      const created = await createUpload(user, sample, purpose);
      assert.equal(created.errors, undefined, JSON.stringify(created.errors));
      const ticket = created.data!.createUpload;
      const put = await fetch(ticket.uploadUrl, {
        method: 'PUT',
        headers: Object.fromEntries(ticket.headers.map((h: { name: string; value: string }) => [h.name, h.value])),
        body: new Uint8Array(sample.body),
      });
      assert.ok(put.ok, `PUT answered ${put.status}: ${await put.text()}`);
      const completed = await gqlOk(url, COMPLETE, { id: ticket.mediaId }, user.token);
      assert.ok(['PROCESSING', 'READY', 'REJECTED'].includes(completed.completeUpload.status));
      return waitProcessed(user, ticket.mediaId);
    };

    const waitProcessed = async (user: TestUser, id: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { media } = await gqlOk(url, MEDIA, { id }, user.token);
        if (media.status === 'READY' || media.status === 'REJECTED') return media;
        if (Date.now() > deadline) throw new Error(`still ${media.status} after 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };

    const download = async (signed: string) => {
      const response = await fetch(signed);
      return {
        status: response.status,
        type: response.headers.get('content-type'),
        body: Buffer.from(await response.arrayBuffer()),
      };
    };

    it('uploads, processes and serves an image, with its dimensions and a thumbnail', async () => {
      const media = await upload(ann, files.png);
      assert.equal(media.status, 'READY', JSON.stringify(media));
      assert.deepEqual([media.kind, media.width, media.height], ['IMAGE', 640, 480]);
      const original = await download(media.url);
      assert.equal(original.status, 200);
      assert.ok(original.body.equals(files.png.body), 'the downloaded bytes are the uploaded ones');
      const thumbnail = await download(media.thumbnailUrl);
      assert.equal(thumbnail.status, 200);
      const meta = await sharp(thumbnail.body).metadata();
      assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 320, JSON.stringify(meta));
    });

    it('processes a GIF, a short video (duration and poster) and a PDF', async () => {
      const gif = await upload(ann, files.gif);
      assert.deepEqual([gif.status, gif.kind, gif.width, gif.height], ['READY', 'GIF', 120, 90]);
      assert.ok(gif.thumbnailUrl);
      const video = await upload(ann, files.mp4);
      assert.deepEqual(
        [video.status, video.kind, video.width, video.height],
        ['READY', 'VIDEO', 320, 240],
        JSON.stringify(video),
      );
      assert.ok(Math.abs(video.durationMs - 2000) <= 200, `duration ${video.durationMs}`);
      assert.equal((await download(video.thumbnailUrl)).status, 200, 'the poster is served');
      const pdf = await upload(ann, files.pdf);
      assert.deepEqual([pdf.status, pdf.kind, pdf.thumbnailUrl], ['READY', 'FILE', null]);
      assert.ok((await download(pdf.url)).body.equals(files.pdf.body));
    });

    it('rejects an executable declared as an image, and the EICAR test file', async () => {
      const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(1024, 0x90)]);
      const renamed = await upload(ann, { fileName: 'cute-cat.png', contentType: 'image/png', body: elf });
      assert.deepEqual(
        [renamed.status, renamed.rejectionReason, renamed.url],
        ['REJECTED', 'SIGNATURE_MISMATCH', null],
      );
      const eicar = await upload(ann, { fileName: 'readme.txt', contentType: 'text/plain', body: Buffer.from(EICAR) });
      assert.deepEqual([eicar.status, eicar.rejectionReason, eicar.url], ['REJECTED', 'INFECTED', null]);
    });

    it('refuses an oversized upload before any byte is stored, and a PUT larger than declared', async () => {
      const tooBig = await createUpload(ann, files.png, 'AVATAR', 50 * 1024 * 1024);
      assert.equal(tooBig.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.equal(tooBig.errors?.[0]?.extensions?.reason, 'TOO_LARGE');
      const created = await createUpload(ann, files.png, 'MESSAGE_ATTACHMENT', 1_000);
      const ticket = created.data!.createUpload;
      // The client sends the real bytes, with their real length, not the signed one.
      const headers = Object.fromEntries(
        ticket.headers
          .filter((h: { name: string }) => h.name.toLowerCase() !== 'content-length')
          .map((h: { name: string; value: string }) => [h.name, h.value]),
      );
      const put = await fetch(ticket.uploadUrl, { method: 'PUT', headers, body: new Uint8Array(files.png.body) });
      assert.ok(put.status >= 400 && put.status < 500, `a larger PUT answered ${put.status}`);
      const completed = await gql(url, COMPLETE, { id: ticket.mediaId }, ann.token);
      assert.equal(completed.errors?.[0]?.extensions?.reason, 'NOT_UPLOADED', JSON.stringify(completed));
    });

    it('attaches READY media to messages: members see them through the message, others get NOT_FOUND', async () => {
      const cat = await registerUser(url, 'cat');
      const chatId = await directChat(url, ann, bob);
      const photo = await upload(ann, files.png);
      const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id media { id } } }';
      const sent = await gqlOk(
        url,
        SEND,
        { input: { chatId, text: '', clientMessageId: `photo-${Date.now()}`, mediaIds: [photo.id] } },
        ann.token,
      );
      assert.deepEqual(sent.sendMessage.media, [{ id: photo.id }]);

      const HISTORY =
        'query ($chatId: ID!) { messages(chatId: $chatId, first: 5) { edges { node { id text media { id kind width url thumbnailUrl } } } } }';
      const deadline = Date.now() + 15_000;
      let seen: any;
      while (!seen && Date.now() < deadline) {
        const page = await gqlOk(url, HISTORY, { chatId }, bob.token);
        seen = page.messages.edges.map((edge: any) => edge.node).find((node: any) => node.id === sent.sendMessage.id);
        if (!seen) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(seen, 'the message reached history');
      assert.equal(seen.media[0].kind, 'IMAGE');
      assert.ok((await download(seen.media[0].url)).body.equals(files.png.body), 'a member downloads the attachment');
      assert.equal((await gqlOk(url, MEDIA, { id: photo.id }, bob.token)).media.status, 'READY');
      const stranger = await gql(url, MEDIA, { id: photo.id }, cat.token);
      assert.equal(stranger.errors?.[0]?.extensions?.code, 'NOT_FOUND', 'a non-member cannot get the URL');

      // Only the sender's own READY uploads can be attached.
      const pending = (await createUpload(ann, files.png)).data!.createUpload.mediaId;
      const bobsPhoto = await upload(bob, files.png);
      for (const mediaIds of [[pending], [bobsPhoto.id], ['123456789']]) {
        const refused = await gql(
          url,
          SEND,
          { input: { chatId, text: 'look', clientMessageId: `bad-${mediaIds[0]}`, mediaIds } },
          ann.token,
        );
        assert.equal(refused.errors?.[0]?.extensions?.reason, 'MEDIA_NOT_READY', JSON.stringify(refused));
      }
    });

    it('sets an avatar others see in two sizes, and refuses an attachment as avatar', async () => {
      const picture = await upload(ann, files.png, 'AVATAR');
      const SET = 'mutation ($id: ID) { setAvatar(mediaId: $id) { id avatar { id } } }';
      assert.deepEqual((await gqlOk(url, SET, { id: picture.id }, ann.token)).setAvatar.avatar, { id: picture.id });
      const seen = await gqlOk(
        url,
        'query ($id: ID!) { user(id: $id) { avatar { status width url thumbnailUrl } } }',
        { id: ann.id },
        bob.token,
      );
      assert.equal(seen.user.avatar.width, 640);
      const small = await sharp((await download(seen.user.avatar.thumbnailUrl)).body).metadata();
      assert.ok((small.width ?? 0) <= 320);
      const attachment = await upload(ann, files.png);
      assert.equal(
        (await gql(url, SET, { id: attachment.id }, ann.token)).errors?.[0]?.extensions?.reason,
        'MEDIA_NOT_READY',
      );
      assert.equal((await gqlOk(url, SET, { id: null }, ann.token)).setAvatar.avatar, null);
    });

    it('reports status changes to the uploader by subscription', async () => {
      const client = wsClient(url, ann.token);
      const created = (await createUpload(ann, files.gif)).data!.createUpload;
      const subscription = new Subscription(
        client,
        'subscription ($id: ID) { mediaStatusChanged(mediaId: $id) { id status kind } }',
        { id: created.mediaId },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const put = await fetch(created.uploadUrl, {
        method: 'PUT',
        headers: Object.fromEntries(created.headers.map((h: { name: string; value: string }) => [h.name, h.value])),
        body: new Uint8Array(files.gif.body),
      });
      assert.ok(put.ok);
      await gqlOk(url, COMPLETE, { id: created.mediaId }, ann.token);
      const event = await subscription.waitForMatch((e: any) => e.data?.mediaStatusChanged.status === 'READY', 30_000);
      assert.deepEqual(event.data!.mediaStatusChanged, { id: created.mediaId, status: 'READY', kind: 'GIF' });
      subscription.stop();
      await client.dispose();
    });

    it('refuses a download URL once it expired', async () => {
      const media = await upload(ann, files.pdf);
      assert.equal((await download(media.url)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, (URL_TTL_SECONDS + 1.5) * 1000));
      const late = await download(media.url);
      assert.ok(late.status === 403 || late.status === 410, `an expired URL answered ${late.status}`);
      assert.equal(
        (await download((await gqlOk(url, MEDIA, { id: media.id }, ann.token)).media.url)).status,
        200,
        'a fresh URL works',
      );
    });

    it('refuses a tampered or foreign download URL, and shows media to whom it may only', async () => {
      const media = await upload(ann, files.png);
      const tampered = new URL(media.url);
      const [firstKey] = [...tampered.searchParams.keys()];
      tampered.searchParams.set(firstKey!, `${tampered.searchParams.get(firstKey!)}0`);
      assert.ok((await download(tampered.toString())).status >= 400);
      const foreign = await gql(url, MEDIA, { id: media.id }, bob.token);
      assert.equal(foreign.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      const foreignComplete = await gql(url, COMPLETE, { id: media.id }, bob.token);
      assert.equal(foreignComplete.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      // An avatar is for everyone logged in to see.
      const avatar = await upload(ann, files.png, 'AVATAR');
      assert.equal((await gqlOk(url, MEDIA, { id: avatar.id }, bob.token)).media.status, 'READY');
      assert.equal((await gql(url, MEDIA, { id: avatar.id })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    });
  });
}

mediaSuite('media on local disk (embedded: the gateway serves signed URLs)', async () => {
  const clamd = await startClamd();
  const embedded = await startEmbedded({
    CLAMD_ADDRESS: `${clamd.host}:${clamd.port}`,
    MEDIA_URL_TTL_SECONDS: String(URL_TTL_SECONDS),
  });
  return {
    url: embedded.url,
    stop: async () => {
      await embedded.stop();
      await clamd.stop();
    },
  };
});

mediaSuite('media on S3 (distributed: S3Proxy, presigned URLs)', async () => {
  const clamd = await startClamd();
  const s3 = testS3();
  const buckets = await createTestBuckets(`media${Date.now().toString(36)}`);
  const topology = await startDistributed({
    env: {
      CLAMD_ADDRESS: `${clamd.host}:${clamd.port}`,
      MEDIA_URL_TTL_SECONDS: String(URL_TTL_SECONDS),
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'on',
      MEDIA_BUCKET_QUARANTINE: buckets.quarantine,
      MEDIA_BUCKET_CLEAN: buckets.clean,
    },
  });
  return {
    // Gateway B reaches the media subgraph process over the network.
    url: topology.gatewayB.url,
    stop: async () => {
      await topology.stop();
      await buckets.drop();
      await clamd.stop();
    },
  };
});
