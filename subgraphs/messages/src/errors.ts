/**
 * The reasons (`extensions.reason`) the messages subgraph gives, registered
 * in the one registry (`@chat/common` error-registry.ts; docs/ERRORS.md).
 */
import { reasonErrors, type ErrorCode, type ErrorReasonDefinition, type ErrorSet } from '@chat/common';

export const MESSAGES_REASONS = {
  MEDIA_NOT_READY: {
    code: 'BAD_USER_INPUT',
    description: "Attachments that are not the sender's own READY uploads for messages (`mediaIds`).",
  },
  CLIENT_MESSAGE_ID_REUSED: {
    code: 'BAD_USER_INPUT',
    description: 'A `clientMessageId` the sender already used for a message in another chat.',
  },
  MESSAGE_DELETED: {
    code: 'BAD_USER_INPUT',
    description: 'Editing or reacting to a message that was deleted for everyone.',
  },
  EDIT_WINDOW_PASSED: {
    code: 'FORBIDDEN',
    description: 'Editing a message after the edit window (`MESSAGE_EDIT_WINDOW_SECONDS`, 15 minutes by default).',
  },
  DELETE_WINDOW_PASSED: {
    code: 'FORBIDDEN',
    description:
      'The sender deleting a message for everyone after the delete window (`MESSAGE_DELETE_WINDOW_SECONDS`, ' +
      "48 hours by default); a group's owner and admins have none.",
  },
  TOO_MANY_REACTIONS: {
    code: 'BAD_USER_INPUT',
    description: 'A reaction past the limit of different emoji one user may put on one message (20).',
  },
  RECEIPT_BACKWARDS: {
    code: 'BAD_USER_INPUT',
    description: "A delivered or seen receipt behind the member's current one: receipts only move forward.",
  },
} as const satisfies Record<string, ErrorReasonDefinition<ErrorCode>>;

export type MessagesReason = keyof typeof MESSAGES_REASONS;

/** What the messages subgraph registers. */
export const MESSAGES_ERRORS: ErrorSet = { owner: 'messages', reasons: MESSAGES_REASONS };

/** An error with one of this subgraph's reasons, under the reason's code. */
export const refuse = reasonErrors(MESSAGES_REASONS);
