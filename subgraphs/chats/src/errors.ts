/**
 * The reasons (`extensions.reason`) the chats subgraph gives, registered in
 * the one registry (`@chat/common` error-registry.ts; docs/ERRORS.md).
 */
import { reasonErrors, type ErrorCode, type ErrorReasonDefinition, type ErrorSet } from '@chat/common';

export const CHATS_REASONS = {
  NOT_CONNECTED: {
    code: 'FORBIDDEN',
    description: 'A direct chat with someone who is not a connection, where `DIRECT_CHAT_POLICY` is `connections`.',
  },
  NOT_A_GROUP: { code: 'BAD_USER_INPUT', description: 'A group operation on a direct chat.' },
  GROUP_FULL: {
    code: 'BAD_USER_INPUT',
    description: "Members and pending invitations would pass the group's member limit (`limit`); nobody was added.",
  },
  BLOCKED: {
    code: 'BAD_USER_INPUT',
    description: 'Adding or inviting users the viewer blocked (`userIds`, on `argument`): unblock them first.',
  },
} as const satisfies Record<string, ErrorReasonDefinition<ErrorCode>>;

export type ChatsReason = keyof typeof CHATS_REASONS;

/** What the chats subgraph registers. */
export const CHATS_ERRORS: ErrorSet = { owner: 'chats', reasons: CHATS_REASONS };

/** An error with one of this subgraph's reasons, under the reason's code. */
export const refuse = reasonErrors(CHATS_REASONS);
