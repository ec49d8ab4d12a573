/**
 * The reasons (`extensions.reason`) the users subgraph gives, registered in
 * the one registry (`@chat/common` error-registry.ts; docs/ERRORS.md).
 */
import { reasonErrors, type ErrorCode, type ErrorReasonDefinition, type ErrorSet } from '@chat/common';

export const USERS_REASONS = {
  USERNAME_TAKEN: {
    code: 'BAD_USER_INPUT',
    description: 'Another account has this username (`register`, `updateProfile`).',
  },
  MEDIA_NOT_READY: {
    code: 'BAD_USER_INPUT',
    description: "`setAvatar` with a media that is not the viewer's own READY upload of purpose AVATAR.",
  },
  WRONG_PASSWORD: {
    code: 'FORBIDDEN',
    description:
      'The password given to confirm a change (`changePassword`, `deleteMyAccount`) is wrong; nothing changed.',
  },
  INVALID_CODE: {
    code: 'BAD_USER_INPUT',
    description:
      'A wrong, expired or used-up confirmation code for an email or phone change; `attemptsLeft` says how many ' +
      'tries the code has left.',
  },
  UNCHANGED: {
    code: 'BAD_USER_INPUT',
    description: 'A contact change to the address or number the account has already.',
  },
  SELF: { code: 'BAD_USER_INPUT', description: 'A connection change (invite, block, unblock) aimed at the viewer.' },
  BLOCKED: {
    code: 'BAD_USER_INPUT',
    description: '`inviteConnection` to a user the viewer blocked: unblock them first.',
  },
  ALREADY: {
    code: 'BAD_USER_INPUT',
    description: '`inviteConnection` to a user already connected or invited by the viewer.',
  },
  NO_INVITATION: {
    code: 'BAD_USER_INPUT',
    description: '`acceptConnection` or `cancelConnection` without the pending invitation it needs.',
  },
  NOT_CONNECTED: {
    code: 'BAD_USER_INPUT',
    description: '`removeConnection` of a user the viewer is not connected with.',
  },
} as const satisfies Record<string, ErrorReasonDefinition<ErrorCode>>;

export type UsersReason = keyof typeof USERS_REASONS;

/** What the users subgraph registers. */
export const USERS_ERRORS: ErrorSet = { owner: 'users', reasons: USERS_REASONS };

/** An error with one of this subgraph's reasons, under the reason's code. */
export const refuse = reasonErrors(USERS_REASONS);
