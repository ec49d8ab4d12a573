/**
 * What processing decides about an upload, from its bytes alone: the pure
 * part of the media pipeline (no storage, no database), so it is tested on
 * real files in-process.
 */
import type { Readable } from 'node:stream';

export type MediaKind = 'IMAGE' | 'VIDEO' | 'GIF' | 'FILE';
export type MediaPurpose = 'MESSAGE_ATTACHMENT' | 'AVATAR';

export type RejectionReason =
  /** The bytes are not of the declared type (magic numbers, not the name). */
  | 'SIGNATURE_MISMATCH'
  /** The type is not accepted for this purpose. */
  | 'UNSUPPORTED_TYPE'
  /** Larger than the limit of its kind and purpose, or than declared. */
  | 'TOO_LARGE'
  /** Fewer bytes than declared (an interrupted or replaced upload): upload again. */
  | 'INCOMPLETE'
  /** No bytes at all (declared or uploaded). */
  | 'EMPTY'
  /** Dimensions or duration beyond the limits. */
  | 'DIMENSIONS_TOO_LARGE'
  | 'TOO_LONG'
  /** The scanner found something. */
  | 'INFECTED'
  /** Declared an image/video but cannot be decoded. */
  | 'UNREADABLE';

export interface Inspection {
  kind: MediaKind;
  /** The MIME type the signature says (may refine the declared one, e.g. image/jpeg). */
  detectedType: string;
  width?: number;
  height?: number;
  durationMs?: number;
  /** More than one frame (animated GIF, WebP or PNG); the thumbnail shows the first. */
  animated?: boolean;
  /** A small preview (images, GIFs, video posters): JPEG or WebP bytes. */
  thumbnail?: { body: Buffer; contentType: string; width: number; height: number };
}

export type InspectionResult =
  { ok: true; inspection: Inspection } | { ok: false; reason: RejectionReason; detail?: string };

/** A virus scanner. `clean` false names what it found. */
export interface Scanner {
  scan(body: Readable): Promise<{ clean: true } | { clean: false; signature: string }>;
  close?(): Promise<void>;
}
