/**
 * inspect() on real files, made here: images and GIFs by sharp, videos and
 * audio by ffmpeg (which must be installed: nothing is skipped), PDFs, zips,
 * office documents and executables written as bytes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { inspect, type Declared } from './inspect.ts';
import type { Inspection, InspectionResult, MediaPurpose, RejectionReason } from './types.ts';

const run = promisify(execFile);
let dir: string;
const file = (name: string) => join(dir, name);

async function ffmpeg(output: string, ...args: string[]): Promise<string> {
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args, file(output)], { timeout: 60_000 });
  return file(output);
}

/** Declares a file as it is (its real size), with this type. */
async function declared(
  path: string,
  contentType: string,
  purpose: MediaPurpose = 'MESSAGE_ATTACHMENT',
): Promise<Declared> {
  return { contentType, size: (await readFile(path)).length, purpose };
}

function accepted(result: InspectionResult): Inspection {
  assert.ok(result.ok, `refused: ${result.ok ? '' : `${result.reason} (${result.detail})`}`);
  return result.inspection;
}

function refused(result: InspectionResult, reason: RejectionReason): string {
  assert.ok(!result.ok, `accepted: ${JSON.stringify(result.ok && { ...result.inspection, thumbnail: undefined })}`);
  assert.equal(result.reason, reason, result.detail);
  return result.detail ?? '';
}

async function thumbnailOf(inspection: Inspection) {
  assert.ok(inspection.thumbnail, 'a thumbnail');
  assert.equal(inspection.thumbnail.contentType, 'image/webp');
  const metadata = await sharp(inspection.thumbnail.body).metadata();
  assert.equal(metadata.format, 'webp');
  assert.equal(metadata.width, inspection.thumbnail.width);
  assert.equal(metadata.height, inspection.thumbnail.height);
  return metadata;
}

/** The colour of one pixel of an image, as [r, g, b]. */
async function pixel(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + 3)];
}
const isRed = ([r, g, b]: number[]) => r! > 200 && g! < 60 && b! < 60;
const isBlue = ([r, g, b]: number[]) => r! < 60 && g! < 60 && b! > 200;

/** Raw RGB pixels, `width` wide, the colour chosen per pixel. */
function paint(width: number, height: number, colour: (x: number, y: number) => [number, number, number]): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set(colour(x, y), (y * width + x) * 3);
  return pixels;
}
const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];
const BLUE: [number, number, number] = [0, 0, 255];

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A tiny, valid-looking PNG that claims width × height: a decompression bomb's header. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method, not interlaced
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A zip of stored (uncompressed) entries. */
function zip(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name);
    const data = Buffer.from(text);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

function officeDocument(mainContentType: string): Buffer {
  return zip({
    '[Content_Types].xml':
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      `<Override PartName="/word/document.xml" ContentType="${mainContentType}"/></Types>`,
    'word/document.xml':
      '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>',
  });
}

/** The smallest well-formed PDF: one empty page, with a correct cross-reference table. */
function minimalPdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/** The first bytes of a 64-bit ELF executable (what a Linux binary starts with). */
function elfHeader(): Buffer {
  const elf = Buffer.alloc(512, 0x90);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0, 1, 0, 0, 0], 0);
  return elf;
}

/** A DOS/PE header (what a Windows .exe starts with). */
function peHeader(): Buffer {
  const exe = Buffer.alloc(512);
  exe.write('MZ', 0, 'latin1');
  exe.writeUInt32LE(0x80, 0x3c);
  exe.write('PE\0\0', 0x80, 'latin1');
  return exe;
}

describe('inspect', { concurrency: false }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inspect-test-'));
    await sharp(
      paint(640, 480, (x) => (x < 320 ? RED : BLUE)),
      { raw: { width: 640, height: 480, channels: 3 } },
    )
      .png()
      .toFile(file('a.png'));
    await sharp(
      paint(1000, 500, () => GREEN),
      { raw: { width: 1000, height: 500, channels: 3 } },
    )
      .jpeg()
      .toFile(file('a.jpg'));
    // Stored 600 × 300, left half red; EXIF orientation 6: shown turned a quarter clockwise, 300 × 600, red on top.
    await sharp(
      paint(600, 300, (x) => (x < 300 ? RED : BLUE)),
      { raw: { width: 600, height: 300, channels: 3 } },
    )
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(file('rotated.jpg'));
    // Three frames of 120 × 90, stacked: red, green, blue.
    const frames = paint(120, 270, (_x, y) => (y < 90 ? RED : y < 180 ? GREEN : BLUE));
    await sharp(frames, { raw: { width: 120, height: 270, channels: 3, pageHeight: 90 } })
      .gif({ delay: [200, 200, 200], loop: 0 })
      .toFile(file('animated.gif'));
    await sharp(
      paint(120, 90, () => BLUE),
      { raw: { width: 120, height: 90, channels: 3 } },
    )
      .gif()
      .toFile(file('static.gif'));
    await ffmpeg('a.mp4', '-f', 'lavfi', '-i', 'testsrc=duration=2:size=320x240:rate=10', '-pix_fmt', 'yuv420p');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('images', () => {
    it('a PNG: dimensions, and a WebP thumbnail of at most 320 px', async () => {
      const path = file('a.png');
      const inspection = accepted(await inspect({ path }, await declared(path, 'image/png')));
      assert.deepEqual(
        [inspection.kind, inspection.detectedType, inspection.width, inspection.height],
        ['IMAGE', 'image/png', 640, 480],
      );
      assert.equal(inspection.animated, false);
      const thumbnail = await thumbnailOf(inspection);
      assert.deepEqual([thumbnail.width, thumbnail.height], [320, 240]);
      assert.ok(isRed(await pixel(inspection.thumbnail!.body, 10, 120)));
      assert.ok(isBlue(await pixel(inspection.thumbnail!.body, 310, 120)));
    });

    it('a JPEG, from memory as from a file', async () => {
      const body = await readFile(file('a.jpg'));
      const inspection = accepted(
        await inspect({ body }, { contentType: 'image/jpeg', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
      );
      assert.deepEqual([inspection.kind, inspection.width, inspection.height], ['IMAGE', 1000, 500]);
      const thumbnail = await thumbnailOf(inspection);
      assert.deepEqual([thumbnail.width, thumbnail.height], [320, 160]);
    });

    it('an EXIF-rotated JPEG: dimensions as shown, thumbnail upright, no EXIF in the thumbnail', async () => {
      const path = file('rotated.jpg');
      assert.equal((await sharp(path).metadata()).orientation, 6);
      const inspection = accepted(await inspect({ path }, await declared(path, 'image/jpeg')));
      assert.deepEqual([inspection.width, inspection.height], [300, 600]);
      const thumbnail = await thumbnailOf(inspection);
      assert.deepEqual([thumbnail.width, thumbnail.height], [160, 320]);
      assert.equal(thumbnail.orientation, undefined);
      assert.equal(thumbnail.exif, undefined);
      assert.ok(isRed(await pixel(inspection.thumbnail!.body, 80, 10)), 'red on top');
      assert.ok(isBlue(await pixel(inspection.thumbnail!.body, 80, 310)), 'blue below');
    });

    it('an animated GIF: the frame size, animated, the thumbnail from the first frame', async () => {
      const path = file('animated.gif');
      const inspection = accepted(await inspect({ path }, await declared(path, 'image/gif')));
      assert.deepEqual(
        [inspection.kind, inspection.width, inspection.height, inspection.animated],
        ['GIF', 120, 90, true],
      );
      const thumbnail = await thumbnailOf(inspection);
      assert.deepEqual([thumbnail.width, thumbnail.height], [120, 90], 'never enlarged');
      assert.ok(isRed(await pixel(inspection.thumbnail!.body, 60, 45)), 'the first frame');
    });

    it('a static GIF, also as an avatar', async () => {
      const path = file('static.gif');
      const inspection = accepted(await inspect({ path }, await declared(path, 'image/gif', 'AVATAR')));
      assert.deepEqual([inspection.kind, inspection.animated], ['GIF', false]);
      await thumbnailOf(inspection);
    });

    it('an APNG declared as image/png: the same format', async () => {
      const png = await readFile(file('a.png'));
      const acTL = Buffer.alloc(8);
      acTL.writeUInt32BE(1, 0); // one frame, looping forever
      const body = Buffer.concat([png.subarray(0, 33), pngChunk('acTL', acTL), png.subarray(33)]); // after the signature and IHDR
      const inspection = accepted(
        await inspect({ body }, { contentType: 'image/png', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
      );
      assert.deepEqual([inspection.detectedType, inspection.animated], ['image/apng', true]);
    });
  });

  describe('videos', () => {
    it('a 2-second MP4: duration, dimensions, a poster thumbnail', async () => {
      const path = file('a.mp4');
      const inspection = accepted(await inspect({ path }, await declared(path, 'video/mp4')));
      assert.deepEqual(
        [inspection.kind, inspection.detectedType, inspection.width, inspection.height, inspection.durationMs],
        ['VIDEO', 'video/mp4', 320, 240, 2000],
      );
      const thumbnail = await thumbnailOf(inspection);
      assert.deepEqual([thumbnail.width, thumbnail.height], [320, 240]);
    });

    it('a video in memory goes through a temporary file, removed afterwards', async () => {
      const body = await readFile(file('a.mp4'));
      const before = await run('sh', ['-c', `ls ${tmpdir()} | grep -c media-inspect- || true`]);
      const inspection = accepted(
        await inspect({ body }, { contentType: 'video/mp4', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
      );
      assert.equal(inspection.durationMs, 2000);
      const afterwards = await run('sh', ['-c', `ls ${tmpdir()} | grep -c media-inspect- || true`]);
      assert.equal(afterwards.stdout, before.stdout);
    });

    it('a video turned by its container: dimensions and poster as shown', async () => {
      const path = await ffmpeg('rotated.mp4', '-i', file('a.mp4'), '-c', 'copy', '-metadata:s:v', 'rotate=90');
      const inspection = accepted(await inspect({ path }, await declared(path, 'video/mp4')));
      assert.deepEqual([inspection.width, inspection.height], [240, 320]);
      const thumbnail = await thumbnailOf(inspection);
      assert.deepEqual([thumbnail.width, thumbnail.height], [240, 320]);
    });

    it('QuickTime as video/quicktime; not as video/mp4', async () => {
      const path = await ffmpeg('a.mov', '-i', file('a.mp4'), '-c', 'copy', '-f', 'mov');
      const inspection = accepted(await inspect({ path }, await declared(path, 'video/quicktime')));
      assert.deepEqual([inspection.detectedType, inspection.durationMs], ['video/quicktime', 2000]);
      refused(await inspect({ path }, await declared(path, 'video/mp4')), 'SIGNATURE_MISMATCH');
    });

    it('a WebM recorded live, without a duration in its header: the duration from its packets', async () => {
      const path = await ffmpeg(
        'live.webm',
        ...[
          '-f',
          'lavfi',
          '-i',
          'testsrc=duration=2:size=320x240:rate=10',
          '-c:v',
          'libvpx',
          '-deadline',
          'realtime',
          '-cpu-used',
          '8',
          '-live',
          '1',
          '-f',
          'webm',
        ],
      );
      const { stdout } = await run('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'format=duration',
        '-of',
        'csv=p=0',
        path,
      ]);
      assert.equal(stdout.trim(), 'N/A', 'the header has no duration');
      const inspection = accepted(await inspect({ path }, await declared(path, 'video/webm')));
      assert.deepEqual(
        [inspection.kind, inspection.width, inspection.height, inspection.durationMs],
        ['VIDEO', 320, 240, 2000],
      );
      await thumbnailOf(inspection);
    });

    it('refuses a video over 10 minutes (TOO_LONG) and one too wide (DIMENSIONS_TOO_LARGE)', async () => {
      const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
      const long = await ffmpeg('long.mp4', '-f', 'lavfi', '-i', 'color=c=black:s=64x64:r=1:d=601', ...x264);
      refused(await inspect({ path: long }, await declared(long, 'video/mp4')), 'TOO_LONG');
      const wide = await ffmpeg('wide.mp4', '-f', 'lavfi', '-i', 'color=c=black:s=8400x16:r=1:d=1', ...x264);
      refused(await inspect({ path: wide }, await declared(wide, 'video/mp4')), 'DIMENSIONS_TOO_LARGE');
    });

    it('refuses an MP4 without a video stream as a video (UNREADABLE), accepts it as MP4 audio', async () => {
      const path = await ffmpeg('audio.mp4', '-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac', '-f', 'mp4');
      assert.match(
        refused(await inspect({ path }, await declared(path, 'video/mp4')), 'UNREADABLE'),
        /no video stream/,
      );
      assert.equal(accepted(await inspect({ path }, await declared(path, 'audio/mp4'))).kind, 'FILE');
    });

    it('refuses a truncated MP4 as UNREADABLE', async () => {
      const whole = await readFile(file('a.mp4'));
      // The moov box (the index) is written last: without it, nothing can be read.
      const body = whole.subarray(0, whole.length - 1000);
      refused(
        await inspect({ body }, { contentType: 'video/mp4', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
        'UNREADABLE',
      );
    });

    it('throws, rather than refuse, when ffprobe cannot be run', async () => {
      const path = file('a.mp4');
      await assert.rejects(
        inspect({ path }, await declared(path, 'video/mp4'), { ffprobePath: '/nonexistent/ffprobe' }),
        /cannot be run/,
      );
    });
  });

  describe('files', () => {
    it('a PDF: accepted, no thumbnail', async () => {
      const body = minimalPdf();
      const inspection = accepted(
        await inspect({ body }, { contentType: 'application/pdf', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
      );
      assert.deepEqual(inspection, { kind: 'FILE', detectedType: 'application/pdf' });
    });

    it('office documents and zips by their contents: a docx, not a macro-enabled docm, a zip as a zip only', async () => {
      const check = (body: Buffer, contentType: string) =>
        inspect({ body }, { contentType, size: body.length, purpose: 'MESSAGE_ATTACHMENT' });
      const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
      const docx = officeDocument(`${DOCX}.main+xml`);
      assert.equal(accepted(await check(docx, DOCX)).detectedType, DOCX);
      refused(await check(docx, 'application/zip'), 'SIGNATURE_MISMATCH');
      const docm = officeDocument('application/vnd.ms-word.document.macroEnabled.main+xml');
      assert.match(refused(await check(docm, DOCX), 'SIGNATURE_MISMATCH'), /macroenabled/);
      const plain = zip({ 'notes.txt': 'hello' });
      assert.equal(accepted(await check(plain, 'application/x-zip-compressed')).detectedType, 'application/zip');
      refused(await check(plain, DOCX), 'SIGNATURE_MISMATCH');
    });

    it('audio: MP3, Ogg Opus, M4A', async () => {
      const sine = ['-f', 'lavfi', '-i', 'sine=duration=1'];
      const cases = [
        [await ffmpeg('a.mp3', ...sine, '-c:a', 'libmp3lame'), 'audio/mpeg'],
        [await ffmpeg('a.ogg', ...sine, '-c:a', 'libopus'), 'audio/ogg'],
        [await ffmpeg('a.m4a', ...sine, '-c:a', 'aac'), 'audio/x-m4a'],
      ] as const;
      for (const [path, contentType] of cases) {
        assert.equal(accepted(await inspect({ path }, await declared(path, contentType))).kind, 'FILE', contentType);
      }
    });

    it('text: UTF-8 accepted; NUL bytes or invalid UTF-8 refused; a text type checks no signature', async () => {
      const check = (body: Buffer, contentType = 'text/plain') =>
        inspect({ body }, { contentType, size: body.length, purpose: 'MESSAGE_ATTACHMENT' });
      assert.equal(accepted(await check(Buffer.from('\ufeffhello, wörld 👋\n'))).detectedType, 'text/plain');
      assert.equal(
        accepted(await check(Buffer.from('a,b\n1,2\n'), 'text/csv; charset=utf-8')).detectedType,
        'text/csv',
      );
      // A PDF written all in ASCII is also text: served as text/plain, it is only text.
      accepted(await check(minimalPdf()));
      refused(await check(Buffer.from('hello\0world')), 'SIGNATURE_MISMATCH');
      refused(await check(Buffer.from([0x68, 0x69, 0xff, 0xfe])), 'SIGNATURE_MISMATCH');
      refused(await check(Buffer.from([0x68, 0x69, 0xe2, 0x82])), 'SIGNATURE_MISMATCH'); // cut inside a character
      refused(await check(Buffer.from('hi', 'utf16le')), 'SIGNATURE_MISMATCH');
      refused(await check(elfHeader()), 'SIGNATURE_MISMATCH');
    });

    it('text from a file, streamed', async () => {
      const path = file('big.txt');
      await writeFile(path, 'ünïcödé text, line after line\n'.repeat(20_000));
      accepted(await inspect({ path }, await declared(path, 'text/plain')));
    });
  });

  describe('refusals', () => {
    it('an ELF or PE executable declared as image/png: SIGNATURE_MISMATCH', async () => {
      for (const [body, seen] of [
        [elfHeader(), 'application/x-elf'],
        [peHeader(), 'application/x-msdownload'],
      ] as const) {
        const detail = refused(
          await inspect({ body }, { contentType: 'image/png', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
          'SIGNATURE_MISMATCH',
        );
        assert.match(detail, new RegExp(seen));
      }
    });

    it('a PNG declared as image/jpeg, and bytes of no known type: SIGNATURE_MISMATCH', async () => {
      const path = file('a.png');
      assert.match(
        refused(await inspect({ path }, await declared(path, 'image/jpeg')), 'SIGNATURE_MISMATCH'),
        /image\/png/,
      );
      const body = Buffer.from('this is not an image at all, just words');
      refused(
        await inspect({ body }, { contentType: 'image/png', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
        'SIGNATURE_MISMATCH',
      );
    });

    it('a truncated PNG or JPEG: UNREADABLE', async () => {
      for (const [name, contentType] of [
        ['a.png', 'image/png'],
        ['a.jpg', 'image/jpeg'],
      ] as const) {
        const whole = await readFile(file(name));
        const body = whole.subarray(0, Math.floor(whole.length / 2));
        refused(
          await inspect({ body }, { contentType, size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
          'UNREADABLE',
        );
      }
    });

    it('a decompression bomb (a tiny PNG claiming 100,000 × 100,000): DIMENSIONS_TOO_LARGE, without decoding', async () => {
      const body = pngClaiming(100_000, 100_000);
      assert.ok(body.length < 100);
      const started = performance.now();
      assert.match(
        refused(
          await inspect({ body }, { contentType: 'image/png', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
          'DIMENSIONS_TOO_LARGE',
        ),
        /100000×100000/,
      );
      // Decoding 10^10 pixels would take minutes and 30 GB; reading a header takes milliseconds.
      assert.ok(performance.now() - started < 1000);
      // Within the side limit, beyond the pixel limit (12,000² = 144 Mpx > 50 Mpx):
      const wide = pngClaiming(12_000, 12_000);
      assert.match(
        refused(
          await inspect({ body: wide }, { contentType: 'image/png', size: wide.length, purpose: 'MESSAGE_ATTACHMENT' }),
          'DIMENSIONS_TOO_LARGE',
        ),
        /pixels/,
      );
    });

    it('an avatar beyond 4,096 px a side: DIMENSIONS_TOO_LARGE', async () => {
      const body = await sharp({ create: { width: 5000, height: 10, channels: 3, background: '#888' } })
        .png()
        .toBuffer();
      refused(
        await inspect({ body }, { contentType: 'image/png', size: body.length, purpose: 'AVATAR' }),
        'DIMENSIONS_TOO_LARGE',
      );
      accepted(await inspect({ body }, { contentType: 'image/png', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }));
    });

    it('more bytes than declared: TOO_LARGE; fewer: INCOMPLETE; none: EMPTY', async () => {
      const path = file('a.png');
      const size = (await declared(path, 'image/png')).size;
      const as = (declaredSize: number) =>
        inspect({ path }, { contentType: 'image/png', size: declaredSize, purpose: 'MESSAGE_ATTACHMENT' });
      refused(await as(size - 1), 'TOO_LARGE');
      refused(await as(size + 1), 'INCOMPLETE');
      refused(
        await inspect({ body: Buffer.alloc(0) }, { contentType: 'image/png', size: 10, purpose: 'MESSAGE_ATTACHMENT' }),
        'EMPTY',
      );
    });

    it('the declaration itself, checked again: UNSUPPORTED_TYPE, TOO_LARGE', async () => {
      const body = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');
      refused(
        await inspect({ body }, { contentType: 'image/svg+xml', size: body.length, purpose: 'MESSAGE_ATTACHMENT' }),
        'UNSUPPORTED_TYPE',
      );
      const path = file('a.mp4');
      refused(await inspect({ path }, await declared(path, 'video/mp4', 'AVATAR')), 'UNSUPPORTED_TYPE');
      refused(
        await inspect({ path }, { contentType: 'image/png', size: 6 * 1024 * 1024, purpose: 'AVATAR' }),
        'TOO_LARGE',
      );
    });
  });
});
