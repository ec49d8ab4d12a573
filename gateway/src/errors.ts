/**
 * The gateway's codes (errors about the request itself, before anything is
 * planned) and its reasons (limits on subscriptions), in the one registry
 * (`@chat/common` error-registry.ts; docs/ERRORS.md).
 */
import {
  reasonErrors,
  type ErrorCode,
  type ErrorCodeDefinition,
  type ErrorReasonDefinition,
  type ErrorSet,
} from '@chat/common';
import { GraphQLError, type ASTNode } from 'graphql';

const SPEC_STATUS =
  ' Over HTTP 400 to a client that accepts `application/graphql-response+json`, 200 with plain `application/json` ' +
  '(the GraphQL-over-HTTP spec).';

export const GATEWAY_CODES = {
  GRAPHQL_PARSE_FAILED: {
    description:
      'The document is not valid GraphQL syntax; over graphql-ws also a document over the token limit (which HTTP ' +
      `answers GRAPHQL_VALIDATION_FAILED).${SPEC_STATUS}`,
    httpStatus: 400,
  },
  GRAPHQL_VALIDATION_FAILED: {
    description:
      'The document does not validate against the schema, or exceeds a document limit (depth, cost, aliases, ' +
      `tokens), or asks for introspection in production. The message states the rule or the limit.${SPEC_STATUS}`,
    httpStatus: 400,
  },
  OPERATION_RESOLUTION_FAILURE: {
    description:
      'The operation to run cannot be told: `operationName` names none, or the document has several and no name.',
    httpStatus: 400,
  },
  BAD_REQUEST: {
    description:
      'The request cannot be read: malformed JSON in the body, the query string or a form, a broken multipart ' +
      'upload, a malformed `query`, `variables` or `extensions`; 405 for a mutation sent with GET. A missing ' +
      '`query` is 400 to a client that accepts `application/graphql-response+json`, 200 with plain `application/json`.',
    httpStatus: 400,
  },
} as const satisfies Record<string, ErrorCodeDefinition>;

export type GatewayCode = keyof typeof GATEWAY_CODES;

export const GATEWAY_REASONS = {
  SUBSCRIBE_RATE: {
    code: 'RATE_LIMITED',
    description:
      'Too many subscriptions opened in a short time: on one graphql-ws connection, or per caller over server-sent ' +
      'events; `retryAfterSeconds`.',
  },
  TOO_MANY_SUBSCRIPTIONS: {
    code: 'RATE_LIMITED',
    description: 'Too many operations open at once on one graphql-ws connection (`limit`): complete one first.',
  },
  TOO_MANY_CONNECTIONS: {
    code: 'RATE_LIMITED',
    description: 'A server-sent-event subscription over the connection limit of its user or client address.',
  },
  SUBSCRIPTION_BUDGET: {
    code: 'RATE_LIMITED',
    description: 'The user has `limit` subscriptions open, over all connections and transports: end one first.',
  },
  SLOW_CONSUMER: {
    code: 'RATE_LIMITED',
    description:
      'A subscription whose client fell too far behind was ended (its last event): subscribe again from your cursor.',
    httpStatus: 200,
  },
} as const satisfies Record<string, ErrorReasonDefinition<ErrorCode>>;

export type GatewayReason = keyof typeof GATEWAY_REASONS;

/** What the gateway registers. */
export const GATEWAY_ERRORS: ErrorSet = { owner: 'gateway', codes: GATEWAY_CODES, reasons: GATEWAY_REASONS };

/** An error with one of the gateway's reasons, under the reason's code. */
export const refuse = reasonErrors(GATEWAY_REASONS);

/** Extensions of an error with a code and no reason (a reason comes from {@link refuse}). */
type PlainExtensions = Record<string, unknown> & { reason?: never };

/** An error with one of the gateway's codes (or a shared one), at `nodes` when given. */
export function gatewayError(
  code: GatewayCode | ErrorCode,
  message: string,
  { nodes, extensions = {} }: { nodes?: ASTNode | readonly ASTNode[]; extensions?: PlainExtensions } = {},
): GraphQLError {
  return new GraphQLError(message, { nodes, extensions: { ...extensions, code } });
}

/** `error` with `code` added, all else kept (message, locations, path and other extensions). */
export function withCode(error: GraphQLError, code: GatewayCode | ErrorCode): GraphQLError {
  return withExtensions(error, { ...error.extensions, code });
}

/** `error` with these `extensions` instead of its own, all else kept (message, locations, path). */
export function withExtensions(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions,
  });
}
