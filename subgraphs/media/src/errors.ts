/**
 * The reasons (`extensions.reason`) the media subgraph gives, registered in
 * the one registry (`@chat/common` error-registry.ts; docs/ERRORS.md).
 */
import {
  reasonErrors,
  type ErrorCode,
  type ErrorCodeDefinition,
  type ErrorReasonDefinition,
  type ErrorSet,
} from '@chat/common';

export const MEDIA_REASONS = {
  UNSUPPORTED_TYPE: { code: 'BAD_USER_INPUT', description: 'An upload of a content type its purpose does not accept.' },
  TOO_LARGE: { code: 'BAD_USER_INPUT', description: "An upload over its kind's size limit (`limit`, in bytes)." },
  EMPTY: {
    code: 'BAD_USER_INPUT',
    description: 'An upload whose declared size is not a whole number of at least one byte.',
  },
  QUOTA_EXCEEDED: {
    code: 'BAD_USER_INPUT',
    description:
      "An upload that does not fit the uploader's storage quota or hourly upload limits: `limitType`, `limit`, " +
      '`used` and, for the hourly limits, `retryAfterSeconds`.',
  },
  NOT_UPLOADED: {
    code: 'BAD_USER_INPUT',
    description: '`completeUpload` before the bytes were uploaded to the upload URL.',
  },
} as const satisfies Record<string, ErrorReasonDefinition<ErrorCode>>;

export type MediaReason = keyof typeof MEDIA_REASONS;

/** What the media subgraph registers. */
export const MEDIA_ERRORS: ErrorSet = { owner: 'media', reasons: MEDIA_REASONS };

/** An error with one of this subgraph's reasons, under the reason's code. */
export const refuse = reasonErrors(MEDIA_REASONS);

/**
 * Codes of the media subgraph's own URLs (the signed upload and download
 * URLs of the local storage): plain HTTP, not GraphQL, answered as JSON
 * `{ "error": "<sentence>", "code": "<CODE>" }` with this status.
 */
export const MEDIA_URL_CODES = {
  BAD_PATH: { description: 'Not a media path.', httpStatus: 400 },
  FORBIDDEN: {
    description:
      'The URL is not validly signed, or asks what its bucket never does (an upload outside quarantine, a ' +
      'download of a quarantined object).',
    httpStatus: 403,
  },
  EXPIRED: { description: 'The signed URL has expired: ask for a new one.', httpStatus: 410 },
  METHOD_NOT_ALLOWED: { description: 'PUT uploads, GET and HEAD download (`Allow` names them).', httpStatus: 405 },
  LENGTH_REQUIRED: { description: 'An upload without `Content-Length`.', httpStatus: 411 },
  LENGTH_MISMATCH: {
    description: 'A malformed `Content-Length`, one that is not the declared size, or a body that ended early.',
    httpStatus: 400,
  },
  TOO_LARGE: { description: 'An upload body larger than the declared size.', httpStatus: 413 },
  CONTENT_TYPE_MISMATCH: { description: 'An upload whose `Content-Type` is not the declared type.', httpStatus: 415 },
  ALREADY_UPLOADED: { description: 'The upload already has its bytes.', httpStatus: 409 },
  NOT_FOUND: { description: 'No such media.', httpStatus: 404 },
  RANGE_NOT_SATISFIABLE: {
    description: 'A `Range` outside the object (`Content-Range` gives its size).',
    httpStatus: 416,
  },
  INTERNAL: { description: 'Something unexpected failed; try again.', httpStatus: 500 },
} as const satisfies Record<string, ErrorCodeDefinition>;

export type MediaUrlCode = keyof typeof MEDIA_URL_CODES;

/** What the media subgraph's URLs register. */
export const MEDIA_URL_ERRORS: ErrorSet = { owner: 'media', codes: MEDIA_URL_CODES };
