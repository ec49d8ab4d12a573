/**
 * The verdict on an upload's bytes, in this order, the first failure deciding:
 *
 * 1. the declaration against the limits (`checkDeclared`, again: they may
 *    have changed since `createUpload`): UNSUPPORTED_TYPE, TOO_LARGE, EMPTY;
 * 2. the actual size: more than declared → TOO_LARGE, none → EMPTY, fewer →
 *    INCOMPLETE (storage refuses a PUT of another length, so fewer bytes
 *    mean an interrupted or replaced object);
 * 3. the signature: `file-type` reads the magic numbers and the type it names
 *    must be the declared one, both under `canonicalType` (aliases of the
 *    same format only), or name the same format more widely
 *    (`signatureFits`) → else SIGNATURE_MISMATCH. No signature at all →
 *    SIGNATURE_MISMATCH: every accepted type has one, except text, which is
 *    accepted only as valid UTF-8 without NUL bytes (whatever else its bytes
 *    might also be: it is served as the text type declared);
 * 4. per kind: images and GIFs decoded by sharp (dimensions, thumbnail;
 *    DIMENSIONS_TOO_LARGE before decoding, UNREADABLE when decoding fails),
 *    videos probed by ffprobe and their poster by ffmpeg (TOO_LONG,
 *    DIMENSIONS_TOO_LARGE, UNREADABLE; no video stream is UNREADABLE); other
 *    files: the signature is all (no thumbnail).
 *
 * Virus scanning is not here: the caller runs its `Scanner` after an accepted
 * inspection. Anything thrown (a file that cannot be read, ffprobe missing)
 * is a problem of the machine, not a verdict: the media stays PROCESSING.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileTypeFromBuffer, fileTypeFromFile, type FileTypeResult } from 'file-type';
import { inspectImage } from './image.ts';
import { canonicalType, checkDeclared, isTextType } from './limits.ts';
import type { InspectionResult, MediaPurpose, RejectionReason } from './types.ts';
import { inspectVideo, type VideoTools } from './video.ts';

export type InspectInput = { path: string } | { body: Buffer };

export interface Declared {
  contentType: string;
  size: number;
  purpose: MediaPurpose;
}

export type InspectOptions = VideoTools;

export async function inspect(
  file: InspectInput,
  declared: Declared,
  options: InspectOptions = {},
): Promise<InspectionResult> {
  const check = checkDeclared(declared);
  if (!check.ok) return reject(check.reason, check.message);
  const { kind, contentType, limits } = check;

  const size = 'path' in file ? await fileSize(file.path) : file.body.length;
  if (size > declared.size) return reject('TOO_LARGE', `${size} bytes, ${declared.size} declared`);
  if (size === 0) return reject('EMPTY', 'no bytes were uploaded');
  if (size < declared.size) return reject('INCOMPLETE', `${size} bytes of the ${declared.size} declared`);

  if (isTextType(contentType)) {
    return (await isUtf8Text(file))
      ? { ok: true, inspection: { kind, detectedType: contentType } }
      : reject('SIGNATURE_MISMATCH', `declared ${contentType}: the bytes are not UTF-8 text (or hold NUL bytes)`);
  }

  const detected = await detectType(file);
  if (!detected) return reject('SIGNATURE_MISMATCH', `declared ${contentType}: the bytes have no known signature`);
  if (!signatureFits(detected.mime, contentType)) {
    return reject('SIGNATURE_MISMATCH', `declared ${contentType}: the bytes are ${detected.mime}`);
  }
  const detectedType = detected.mime;

  switch (kind) {
    case 'IMAGE':
    case 'GIF':
      return inspectImage('path' in file ? file.path : file.body, { kind, contentType, detectedType, limits });
    case 'VIDEO':
      return withFile(file, (path) => inspectVideo(path, { contentType, detectedType, limits }, options));
    case 'FILE':
      return { ok: true, inspection: { kind, detectedType } };
  }
}

/**
 * Signatures that name a wider type than the declared one for the same
 * format: MP4 audio written with a generic brand (isom, mp42: what many
 * Android recorders write) is reported as video/mp4, and is still an MP4
 * audio file. Not the other way round: a video declared as video/mp4 that
 * turns out to be audio-only is refused by ffprobe (no video stream).
 */
const ALSO_SIGNED_AS: Readonly<Record<string, readonly string[]>> = {
  'audio/mp4': ['video/mp4'],
};

/** The declared (canonical) type matches the signature's, both canonical: the same format. */
export function signatureFits(detectedType: string, declaredType: string): boolean {
  const signed = canonicalType(detectedType);
  return signed === declaredType || (ALSO_SIGNED_AS[declaredType]?.includes(signed) ?? false);
}

function reject(reason: RejectionReason, detail: string): InspectionResult {
  return { ok: false, reason, detail };
}

async function fileSize(path: string): Promise<number> {
  const stats = await stat(path);
  if (!stats.isFile()) throw new Error('inspect: not a regular file');
  return stats.size;
}

/**
 * file-type reads only what it needs from the start (and, for zip, the
 * entries' names: that is how it tells a docx from a docm from a zip).
 */
async function detectType(file: InspectInput): Promise<FileTypeResult | undefined> {
  try {
    return 'path' in file ? await fileTypeFromFile(file.path) : await fileTypeFromBuffer(file.body);
  } catch (error) {
    // An I/O error is the machine's; anything else is the parser choking on the bytes: no known signature.
    if ((error as NodeJS.ErrnoException).code) throw error;
    return undefined;
  }
}

/** Valid UTF-8 (a byte-order mark allowed) without a NUL byte, read as a stream. */
async function isUtf8Text(file: InspectInput): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const chunks: AsyncIterable<Buffer> | Buffer[] = 'path' in file ? createReadStream(file.path) : [file.body];
  try {
    for await (const chunk of chunks) {
      if (chunk.includes(0)) return false;
      decoder.decode(chunk, { stream: true });
    }
    decoder.decode();
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false; // the decoder's "invalid UTF-8"
    throw error;
  }
}

/** ffprobe and ffmpeg read files: bytes in memory go to a private temporary file first, removed afterwards. */
async function withFile<T>(file: InspectInput, use: (path: string) => Promise<T>): Promise<T> {
  if ('path' in file) return use(file.path);
  const dir = await mkdtemp(join(tmpdir(), 'media-inspect-'));
  try {
    const path = join(dir, 'upload');
    await writeFile(path, file.body, { mode: 0o600 });
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
