/**
 * The codes every package answers with, in `extensions.code`, and the
 * reasons (`extensions.reason`) common code gives; each package registers
 * its own in its `src/errors.ts` (error-registry.ts; docs/ERRORS.md lists
 * them all). Every refusal is a GraphQLError made by a factory here or
 * there; anything else that escapes a resolver is an unexpected error and
 * is masked by the server.
 */
import { GraphQLError } from 'graphql';
import type { ZodError } from 'zod';
import { reasonErrors, type ErrorCodeDefinition, type ErrorReasonDefinition, type ErrorSet } from './error-registry.ts';

export const COMMON_CODES = {
  BAD_USER_INPUT: {
    description:
      'The input is malformed or breaks a rule; nothing was changed. Variables that do not coerce refuse the whole ' +
      'request: 400 to a client that accepts `application/graphql-response+json`.',
    httpStatus: 200,
  },
  UNAUTHENTICATED: {
    description:
      'No valid access token was given, or the credentials are wrong. A refused `Authorization` header refuses the ' +
      'whole request: 401 with `WWW-Authenticate: Bearer` to a client that accepts `application/graphql-response+json`.',
    httpStatus: 200,
  },
  FORBIDDEN: {
    description: 'The viewer may see the object but not do this (for example: a member without the role).',
    httpStatus: 200,
  },
  NOT_FOUND: {
    description: 'The object does not exist, or the viewer may not see it: one answer for both, message included.',
    httpStatus: 200,
  },
  CONFLICT: {
    description: 'The request conflicts with the current state (for example: a stale version).',
    httpStatus: 200,
  },
  RATE_LIMITED: {
    description:
      'Too many requests; retry later, after `retryAfterSeconds` when given. An operation refused before it runs ' +
      "is answered 429 with `Retry-After`; a limit met by one field (search) is that field's error, in a 200.",
    httpStatus: 429,
  },
  UNAVAILABLE: {
    description:
      'A backing service is unavailable; the request changed nothing that a retry would not repeat safely. Retry.',
    httpStatus: 200,
  },
  INTERNAL_SERVER_ERROR: {
    description: 'Something unexpected failed; the details are in the server log, the message is generic.',
    httpStatus: 200,
  },
  PAYLOAD_TOO_LARGE: {
    description:
      'The request body exceeds the limit (`limit`, in bytes; `MAX_REQUEST_BYTES` at the gateway, 1 MiB by ' +
      'default). The connection is closed after the answer.',
    httpStatus: 413,
  },
} as const satisfies Record<string, ErrorCodeDefinition>;

export type ErrorCode = keyof typeof COMMON_CODES;

export const COMMON_REASONS = {
  TOKEN_EXPIRED: { code: 'UNAUTHENTICATED', description: 'The access token has expired: refresh it and retry.' },
  TOKEN_INVALID: {
    code: 'UNAUTHENTICATED',
    description:
      'The access token or the Authorization header is malformed, forged or from another issuer: log in again.',
  },
  SESSION_ENDED: {
    code: 'UNAUTHENTICATED',
    description:
      "The session has ended (logout, password change, reuse of a refresh token, account deletion, an operator's " +
      'cut-off): log in again. Also the last event of a live stream whose session ended.',
  },
  INTERNAL_IDENTITY: {
    code: 'UNAUTHENTICATED',
    description: 'A subgraph process was called without a valid identity signed by the gateway for it.',
  },
  INVALID_DATE_TIME: {
    code: 'BAD_USER_INPUT',
    description: 'A DateTime that is not ISO-8601, or outside 0001-01-01 to 9999-12-31 UTC.',
  },
  INVALID_TEXT: {
    code: 'BAD_USER_INPUT',
    description:
      'A name or text that is not valid Unicode, or has control characters, unbalanced bidirectional controls ' +
      'or nothing visible.',
  },
  BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', description: 'The request body exceeds the limit (`limit`, in bytes).' },
} as const satisfies Record<string, ErrorReasonDefinition<ErrorCode>>;

export type CommonReason = keyof typeof COMMON_REASONS;

/** What `@chat/common` registers: the shared codes and its own reasons. */
export const COMMON_ERRORS: ErrorSet = { owner: 'common', codes: COMMON_CODES, reasons: COMMON_REASONS };

/** Extensions of an error with a code and no reason: a reason comes from a package's reason factory. */
type PlainExtensions = Record<string, unknown> & { reason?: never };

/** A GraphQL error with `code` (and no reason: see {@link commonError} and each package's `refuse`). */
export function apiError(code: ErrorCode, message: string, extensions: PlainExtensions = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** An error with one of common's reasons, under the reason's code. */
export const commonError = reasonErrors(COMMON_REASONS);

export const badInput = (message: string, extensions?: PlainExtensions) =>
  apiError('BAD_USER_INPUT', message, extensions);
export const unauthenticated = (message = 'You must be logged in.') => apiError('UNAUTHENTICATED', message);
export const forbidden = (message = 'You may not do this.') => apiError('FORBIDDEN', message);
export const notFound = (what: string) => apiError('NOT_FOUND', `${what} was not found.`);
export const conflict = (message: string) => apiError('CONFLICT', message);

/**
 * Turns a zod validation failure into one BAD_USER_INPUT error listing every
 * problem. A custom issue with `params.reason` (INVALID_TEXT from `zName`)
 * gives the error its `extensions.reason` (the first such issue's).
 */
export function fromZodError(error: ZodError): GraphQLError {
  const issues = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const summary = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
  const reason = error.issues
    .map((issue) => (issue.code === 'custom' ? issue.params?.reason : undefined))
    .find((value): value is CommonReason => typeof value === 'string' && Object.hasOwn(COMMON_REASONS, value));
  const message = `Invalid input: ${summary}`;
  return reason ? commonError(reason, message, { issues }) : badInput(message, { issues });
}
