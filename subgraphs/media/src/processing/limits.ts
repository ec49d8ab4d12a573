/**
 * What may be uploaded, per purpose and kind: one table, read by
 * `createUpload` (the early refusal, before any byte is stored), by
 * processing (the same limits again, on the actual bytes) and by the README
 * (`limitsTable()`).
 *
 * Sizes are in MiB (2^20 bytes). Every type below except the text ones has a
 * signature `file-type` recognises (a test checks it): a type nothing can
 * recognise from its bytes is not on the list, because its bytes could be
 * anything.
 *
 * Why these files (MESSAGE_ATTACHMENT / FILE):
 * - PDF; the OOXML office documents (docx, xlsx, pptx: not the macro-enabled
 *   docm/xlsm/pptm, which the signature tells apart and refuses); zip.
 * - Text (plain, CSV, Markdown): no signature, so accepted only as valid
 *   UTF-8 without NUL bytes.
 * - Audio: MP3, Ogg (Vorbis, Opus, FLAC, Speex) and MP4 audio (m4a, what
 *   phones record voice notes in).
 * Not accepted: executables and scripts (as such: a script declared as
 * text/plain is stored and served as text, and never run); HTML and SVG (script runs when a
 * browser opens them); legacy Office (doc/xls/ppt: OLE containers whose
 * signature cannot tell a document from any other OLE file, the classic
 * home of macro viruses); OpenDocument (may carry macros, with no
 * macro-free variant to tell apart); archives other than zip; WebM audio
 * (its signature is WebM video's: telling them apart needs ffprobe).
 */
import type { MediaKind, MediaPurpose } from './types.ts';

const MiB = 1024 * 1024;

export interface KindLimits {
  /** The accepted MIME types (canonical names: see `canonicalType`). */
  readonly types: readonly string[];
  readonly maxBytes: number;
  /** The longest side, in pixels (an image, a GIF's frame, a video's frame). */
  readonly maxSide?: number;
  /** width × height, in pixels: past it an image is refused before it is decoded. */
  readonly maxPixels?: number;
  readonly maxDurationMs?: number;
}

export type PurposeLimits = Readonly<Partial<Record<MediaKind, KindLimits>>>;

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
const GIF_TYPES = ['image/gif'] as const;
const VIDEO_TYPES = ['video/mp4', 'video/webm', 'video/quicktime'] as const;
/** Text without a signature: checked as UTF-8 instead (see `isTextType`). */
const TEXT_TYPES = ['text/plain', 'text/csv', 'text/markdown'] as const;
const FILE_TYPES = [
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/zip',
  ...TEXT_TYPES,
  'audio/mpeg',
  'audio/ogg',
  'audio/mp4',
] as const;

/** The table. A kind missing under a purpose is not accepted for it. */
export const MEDIA_LIMITS: Readonly<Record<MediaPurpose, PurposeLimits>> = {
  MESSAGE_ATTACHMENT: {
    IMAGE: { types: IMAGE_TYPES, maxBytes: 20 * MiB, maxSide: 12_000, maxPixels: 50_000_000 },
    // A GIF is decoded (its first frame) like an image: the same frame limits.
    GIF: { types: GIF_TYPES, maxBytes: 15 * MiB, maxSide: 12_000, maxPixels: 50_000_000 },
    // 8K UHD fits (7680 × 4320), and DCI 8K (8192 × 4320).
    VIDEO: {
      types: VIDEO_TYPES,
      maxBytes: 100 * MiB,
      maxSide: 8_192,
      maxPixels: 8_192 * 4_320,
      maxDurationMs: 10 * 60_000,
    },
    FILE: { types: FILE_TYPES, maxBytes: 100 * MiB },
  },
  AVATAR: {
    IMAGE: { types: IMAGE_TYPES, maxBytes: 5 * MiB, maxSide: 4_096, maxPixels: 4_096 * 4_096 },
    // Shown still: the thumbnail is the first frame.
    GIF: { types: GIF_TYPES, maxBytes: 5 * MiB, maxSide: 4_096, maxPixels: 4_096 * 4_096 },
  },
};

/** The largest upload of any purpose: a virus scanner's stream limit must be at least this. */
export const MAX_UPLOAD_BYTES = Math.max(
  ...Object.values(MEDIA_LIMITS).flatMap((kinds) => Object.values(kinds).map((limits) => limits.maxBytes)),
);

/**
 * Other names of an accepted format, for what clients declare (browsers take
 * the type from the file extension: Windows says application/x-zip-compressed
 * for a .zip) and for what the signature says. Only true equivalents: an
 * APNG is a PNG (same signature and chunks; a PNG decoder shows its first
 * frame), M4V is MP4 with Apple's brand, M4A is MP4 audio. Not equivalents:
 * QuickTime and MP4 (related, but distinct formats), JPEG and PNG, zip and
 * the office formats built on zip, WebM and Matroska.
 */
const ALIASES: Readonly<Record<string, string>> = {
  'image/apng': 'image/png',
  'video/x-m4v': 'video/mp4',
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'application/x-zip-compressed': 'application/zip',
  'application/x-zip': 'application/zip',
  'audio/mp3': 'audio/mpeg',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'text/x-markdown': 'text/markdown',
};

/**
 * The canonical name of a MIME type: lower case, parameters dropped
 * (`text/plain; charset=utf-8` → `text/plain`), aliases resolved.
 * @example canonicalType('Image/JPG') // 'image/jpeg'
 */
export function canonicalType(contentType: string): string {
  const bare = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return ALIASES[bare] ?? bare;
}

const KIND_BY_TYPE: ReadonlyMap<string, MediaKind> = new Map(
  Object.values(MEDIA_LIMITS).flatMap((kinds) =>
    Object.entries(kinds).flatMap(([kind, limits]) => limits.types.map((type) => [type, kind as MediaKind] as const)),
  ),
);

/** The kind a (declared) type belongs to, whatever the purpose; null for a type accepted nowhere. */
export function kindOf(contentType: string): MediaKind | null {
  return KIND_BY_TYPE.get(canonicalType(contentType)) ?? null;
}

/** A type without a signature, accepted as valid UTF-8 without NUL bytes. */
export function isTextType(contentType: string): boolean {
  return (TEXT_TYPES as readonly string[]).includes(canonicalType(contentType));
}

export type DeclaredCheck =
  | { ok: true; kind: MediaKind; /** canonical */ contentType: string; limits: KindLimits }
  | {
      ok: false;
      reason: 'UNSUPPORTED_TYPE' | 'TOO_LARGE' | 'EMPTY';
      /** A sentence for the client, naming the limit. */
      message: string;
      /** TOO_LARGE: the most bytes accepted. */
      limit?: number;
    };

/**
 * The early refusal, from what the client declares, before any byte is
 * stored: UNSUPPORTED_TYPE (not accepted for this purpose), TOO_LARGE (over
 * the kind's limit), EMPTY (not a whole number of at least one byte).
 * Processing checks it again and then checks the bytes.
 * @example checkDeclared({ contentType: 'video/mp4', size: 1000, purpose: 'AVATAR' }) // { ok: false, reason: 'UNSUPPORTED_TYPE', … }
 */
export function checkDeclared(declared: { contentType: string; size: number; purpose: MediaPurpose }): DeclaredCheck {
  const contentType = canonicalType(declared.contentType);
  const kind = KIND_BY_TYPE.get(contentType);
  const limits = kind ? MEDIA_LIMITS[declared.purpose][kind] : undefined;
  if (!kind || !limits || !limits.types.includes(contentType)) {
    const accepted = Object.values(MEDIA_LIMITS[declared.purpose]).flatMap((kindLimits) => kindLimits.types);
    return {
      ok: false,
      reason: 'UNSUPPORTED_TYPE',
      message: `${contentType || 'A file without a type'} is not accepted for ${declared.purpose}; accepted: ${accepted.join(', ')}.`,
    };
  }
  if (!Number.isSafeInteger(declared.size) || declared.size < 1) {
    return { ok: false, reason: 'EMPTY', message: 'The size must be a whole number of at least 1 byte.' };
  }
  if (declared.size > limits.maxBytes) {
    return {
      ok: false,
      reason: 'TOO_LARGE',
      message: `${kind} for ${declared.purpose}: at most ${formatBytes(limits.maxBytes)} (${limits.maxBytes} bytes).`,
      limit: limits.maxBytes,
    };
  }
  return { ok: true, kind, contentType, limits };
}

export function formatBytes(bytes: number): string {
  return bytes % MiB === 0 ? `${bytes / MiB} MB` : `${bytes} bytes`;
}

/** The table as Markdown, for the README (one row per purpose and kind). */
export function limitsTable(): string {
  const rows = ['| purpose | kind | types | size | dimensions | duration |', '| --- | --- | --- | --- | --- | --- |'];
  const n = (value: number) => value.toLocaleString('en-US');
  for (const [purpose, kinds] of Object.entries(MEDIA_LIMITS)) {
    for (const [kind, limits] of Object.entries(kinds)) {
      const dimensions = [
        limits.maxSide ? `≤ ${n(limits.maxSide)} px a side` : '',
        limits.maxPixels ? `≤ ${n(limits.maxPixels)} px` : '',
      ]
        .filter(Boolean)
        .join(', ');
      const duration = limits.maxDurationMs ? `≤ ${limits.maxDurationMs / 60_000} min` : '';
      rows.push(
        `| ${purpose} | ${kind} | ${limits.types.join(', ')} | ≤ ${formatBytes(limits.maxBytes)} | ${dimensions} | ${duration} |`,
      );
    }
  }
  return rows.join('\n');
}
