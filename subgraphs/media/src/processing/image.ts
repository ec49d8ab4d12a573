/**
 * Images and GIFs, with sharp (libvips): dimensions from the header, then one
 * decode that is also the thumbnail. The header is read without a pixel
 * limit (libvips reads headers lazily, without decoding) so an image too
 * large is refused with its dimensions before a single pixel is decoded; the
 * decode itself runs under `limitInputPixels` as a second guard.
 */
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import type { KindLimits } from './limits.ts';
import type { Inspection, InspectionResult, MediaKind } from './types.ts';

/** The long side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 320;

/** The libvips loader each accepted type must be decoded by (sharp sniffs the bytes on its own: it must agree). */
const LOADER: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

export type ImageInput = string | Buffer;

/**
 * Dimensions (as displayed: EXIF orientation applied; a GIF's frame, not its
 * strip of frames), animated or not, and a thumbnail of the (first) frame.
 * @param expected what the signature matched: `contentType` canonical, `detectedType` as file-type named it.
 */
export async function inspectImage(
  input: ImageInput,
  expected: {
    kind: Extract<MediaKind, 'IMAGE' | 'GIF'>;
    contentType: string;
    detectedType: string;
    limits: KindLimits;
  },
): Promise<InspectionResult> {
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    return { ok: false, reason: 'UNREADABLE', detail: vipsMessage(error, input) };
  }
  if (metadata.format !== LOADER[expected.contentType]) {
    return {
      ok: false,
      reason: 'SIGNATURE_MISMATCH',
      detail: `the decoder reads ${metadata.format}, not ${expected.contentType}`,
    };
  }
  // One frame: sharp reads the first page unless told otherwise, and reports its size.
  const { width, height } = metadata.autoOrient;
  const tooLarge = exceeds(width, height, expected.limits);
  if (tooLarge) return { ok: false, reason: 'DIMENSIONS_TOO_LARGE', detail: tooLarge };

  const thumbnail = await makeThumbnail(input, expected.limits.maxPixels);
  if (!thumbnail.ok) return thumbnail;
  const inspection: Inspection = {
    kind: expected.kind,
    detectedType: expected.detectedType,
    width,
    height,
    animated: (metadata.pages ?? 1) > 1 || expected.detectedType === 'image/apng',
    thumbnail: thumbnail.thumbnail,
  };
  return { ok: true, inspection };
}

/** Why `width` × `height` is beyond the limits, or null. */
export function exceeds(width: number, height: number, limits: KindLimits): string | null {
  if (limits.maxSide && Math.max(width, height) > limits.maxSide) {
    return `${width}×${height}: at most ${limits.maxSide} px a side`;
  }
  if (limits.maxPixels && width * height > limits.maxPixels) {
    return `${width}×${height}: at most ${limits.maxPixels.toLocaleString('en-US')} pixels`;
  }
  return null;
}

export type ThumbnailResult =
  | { ok: true; thumbnail: NonNullable<Inspection['thumbnail']> }
  | { ok: false; reason: 'UNREADABLE' | 'DIMENSIONS_TOO_LARGE'; detail: string };

/**
 * Decodes the first frame, whole (so a truncated or corrupt image fails here:
 * `failOn: 'error'` refuses errors and truncation, tolerates mere warnings),
 * turned upright by its EXIF orientation, shrunk to fit 320 × 320 (never
 * enlarged), as WebP: smaller than JPEG at the same quality, keeps
 * transparency, read by every current browser and mobile OS. The output
 * carries no metadata (sharp writes none unless asked): no EXIF, no GPS.
 */
export async function makeThumbnail(input: ImageInput, maxPixels?: number): Promise<ThumbnailResult> {
  const options: SharpOptions = { failOn: 'error', autoOrient: true, limitInputPixels: maxPixels ?? true };
  try {
    const { data, info } = await sharp(input, options)
      .resize({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer({ resolveWithObject: true });
    return { ok: true, thumbnail: { body: data, contentType: 'image/webp', width: info.width, height: info.height } };
  } catch (error) {
    const detail = vipsMessage(error, input);
    return { ok: false, reason: /pixel limit/i.test(detail) ? 'DIMENSIONS_TOO_LARGE' : 'UNREADABLE', detail };
  }
}

/** The decoder's complaint, first line, without the server's file path. */
function vipsMessage(error: unknown, input: ImageInput): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = (message.split('\n')[0] ?? '').trim();
  return (typeof input === 'string' ? line.replaceAll(input, 'the file') : line).slice(0, 200) || 'cannot be decoded';
}
