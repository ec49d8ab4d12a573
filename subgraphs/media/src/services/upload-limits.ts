/**
 * The limits on what one user uploads: bytes held in storage (the quota), and
 * bytes and uploads started per rolling hour. Checked by createUpload, under
 * the uploader's lock (MediaStore.createWithinLimits), against what their
 * uploads already hold.
 */
import type { UploadUsage } from '../store/media-store.ts';

export interface UploadLimits {
  /** Bytes a user's uploads may hold (MEDIA_QUOTA_BYTES). */
  quotaBytes: number;
  /** Bytes a user may start uploading per rolling hour (MEDIA_UPLOAD_BYTES_PER_HOUR). */
  bytesPerHour: number;
  /** Uploads a user may start per rolling hour (MEDIA_UPLOAD_FILES_PER_HOUR). */
  filesPerHour: number;
}

/** The window of the hourly limits. */
export const UPLOAD_RATE_WINDOW_MS = 3_600_000;

/** Which limit refused, as `extensions.limitType`. */
export type UploadLimitType = 'STORAGE' | 'UPLOAD_BYTES_PER_HOUR' | 'UPLOAD_FILES_PER_HOUR';

export interface UploadLimitRefusal {
  limitType: UploadLimitType;
  /** The limit: bytes, or uploads for UPLOAD_FILES_PER_HOUR. */
  limit: number;
  /** What is used of it now, before this upload. */
  used: number;
  /** For the hourly limits: when enough of the last hour's uploads leave the window for this one to fit. */
  retryAfterSeconds?: number;
  message: string;
}

/**
 * Whether an upload of `size` bytes fits, given `usage` (whose `recent`
 * uploads are those of the last hour before `now`).
 * @returns null when it fits, else the first limit it breaks: the quota, then the hourly bytes, then the hourly uploads.
 */
export function checkUploadLimits(
  usage: UploadUsage,
  size: number,
  limits: UploadLimits,
  now: Date,
): UploadLimitRefusal | null {
  if (usage.usedBytes + size > limits.quotaBytes) {
    return {
      limitType: 'STORAGE',
      limit: limits.quotaBytes,
      used: usage.usedBytes,
      message: `Your uploads hold ${usage.usedBytes} of your ${limits.quotaBytes} bytes; this one (${size} bytes) does not fit. Uploads never attached are deleted after a while.`,
    };
  }
  const hourBytes = usage.recent.reduce((sum, upload) => sum + upload.size, 0);
  if (hourBytes + size > limits.bytesPerHour) {
    // The upload fits once the oldest ones, in order, have left the window.
    let left = hourBytes;
    let until = usage.recent.at(-1)?.createdAt ?? now;
    for (const upload of usage.recent) {
      left -= upload.size;
      until = upload.createdAt;
      if (left + size <= limits.bytesPerHour) break;
    }
    return {
      limitType: 'UPLOAD_BYTES_PER_HOUR',
      limit: limits.bytesPerHour,
      used: hourBytes,
      retryAfterSeconds: secondsUntil(until, now),
      message: `At most ${limits.bytesPerHour} bytes of uploads per hour.`,
    };
  }
  if (usage.recent.length + 1 > limits.filesPerHour) {
    const oldest = usage.recent[usage.recent.length - limits.filesPerHour]!;
    return {
      limitType: 'UPLOAD_FILES_PER_HOUR',
      limit: limits.filesPerHour,
      used: usage.recent.length,
      retryAfterSeconds: secondsUntil(oldest.createdAt, now),
      message: `At most ${limits.filesPerHour} uploads per hour.`,
    };
  }
  return null;
}

/** Whole seconds (at least 1) until an upload created at `createdAt` leaves the window. */
function secondsUntil(createdAt: Date, now: Date): number {
  return Math.max(1, Math.ceil((createdAt.getTime() + UPLOAD_RATE_WINDOW_MS - now.getTime()) / 1000));
}
