/**
 * The one registry of error codes the API returns in `extensions.code`.
 * Every refusal is a GraphQLError made here; anything else that escapes a
 * resolver is an unexpected error and is masked by the server.
 */
import { GraphQLError } from 'graphql';
import type { ZodError } from 'zod';

export const ErrorCodes = {
  BAD_USER_INPUT: 'The input is malformed or breaks a rule; nothing was changed.',
  UNAUTHENTICATED: 'No valid access token was given, or the credentials are wrong.',
  FORBIDDEN: 'The viewer may see the object but not do this (for example: a member without the role).',
  NOT_FOUND: 'The object does not exist, or the viewer may not see it: one answer for both, message included.',
  CONFLICT: 'The request conflicts with the current state (for example: a stale version).',
  RATE_LIMITED: 'Too many requests; retry later.',
  UNAVAILABLE: 'A backing service is unavailable; the request changed nothing that a retry would not repeat safely. Retry.',
  INTERNAL_SERVER_ERROR: 'Something unexpected failed; the details are in the server log.',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export function apiError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const badInput = (message: string, extensions?: Record<string, unknown>) =>
  apiError('BAD_USER_INPUT', message, extensions);
export const unauthenticated = (message = 'You must be logged in.') => apiError('UNAUTHENTICATED', message);
export const forbidden = (message = 'You may not do this.') => apiError('FORBIDDEN', message);
export const notFound = (what: string) => apiError('NOT_FOUND', `${what} was not found.`);
export const conflict = (message: string) => apiError('CONFLICT', message);

/**
 * Turns a zod validation failure into one BAD_USER_INPUT error listing every
 * problem. A custom issue with `params.reason` (e.g. INVALID_TEXT from
 * `zName`) gives the error its `extensions.reason` (the first such issue's).
 */
export function fromZodError(error: ZodError): GraphQLError {
  const issues = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const summary = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
  const reason = error.issues.map((issue) => (issue.code === 'custom' ? issue.params?.reason : undefined)).find((value) => typeof value === 'string');
  return badInput(`Invalid input: ${summary}`, reason ? { reason, issues } : { issues });
}
