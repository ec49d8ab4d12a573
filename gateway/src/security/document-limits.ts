/**
 * Limits on the operation document itself, checked before anything is
 * planned or counted: lexical tokens (while parsing), then depth, estimated
 * cost and aliases (graphql-armor validation rules), and, in production,
 * introspection. They run in Yoga's enveloped parse and validate, which the
 * graphql-ws path in server.ts calls too, so subscriptions are held to them.
 *
 * Every refusal is one GraphQL error with `extensions.code`
 * GRAPHQL_VALIDATION_FAILED (Yoga's code for every other invalid document),
 * a message that states the limit and nothing else, and nothing executed.
 */
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { getNamedType, isIntrospectionType, type GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { gatewayError, type GatewayCode } from '../errors.ts';
import type { SecurityLimits } from './config.ts';

export const DOCUMENT_REFUSED = 'GRAPHQL_VALIDATION_FAILED' satisfies GatewayCode;

/** armor prefixes every message with "Syntax Error: ", which none of these is. */
const refusal = (error: GraphQLError) => gatewayError(DOCUMENT_REFUSED, error.message.replace(/^Syntax Error: /, ''));

/**
 * armor's rules throw out of `validate` by default; over graphql-ws a throw
 * there would close the socket. Reported instead, they are validation errors
 * like any other.
 */
const reported = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(refusal(error))],
};

export function documentLimitPlugins(
  limits: SecurityLimits['document'],
  { introspection }: { introspection: boolean },
): Plugin[] {
  return [
    maxTokensPlugin({
      n: limits.maxTokens,
      // Parsing has no error list to report to: the refusal replaces armor's error.
      onReject: [
        (_context: unknown, error: GraphQLError) => {
          throw refusal(error);
        },
      ],
    }) as Plugin,
    maxDepthPlugin({ n: limits.maxDepth, ...reported }) as Plugin,
    costLimitPlugin({ maxCost: limits.maxCost, ...reported }) as Plugin,
    maxAliasesPlugin({ n: limits.maxAliases, ...reported }) as Plugin,
    ...(introspection ? [] : [useNoIntrospection()]),
  ];
}

/**
 * Production: refuses fields of introspection types (`__schema`, `__type`;
 * `__typename` stays); graphql-js's "Did you mean …?" hints go too
 * (no-suggestions.ts). Not @graphql-yoga/plugin-disable-introspection: it marks
 * requests in Yoga's HTTP-only `onRequestParse` hook and checks the mark in
 * `onValidate`, so operations over graphql-ws were not covered.
 */
function useNoIntrospection(): Plugin {
  const rule = (context: ValidationContext): ASTVisitor => ({
    Field(node) {
      const type = context.getType();
      const parent = context.getParentType();
      // Once per introspection selection, at its outermost field.
      if (type && isIntrospectionType(getNamedType(type)) && !(parent && isIntrospectionType(parent))) {
        context.reportError(gatewayError(DOCUMENT_REFUSED, 'Introspection is disabled.', { nodes: node }));
      }
    },
  });
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
