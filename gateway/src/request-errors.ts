/**
 * Every error a client gets carries `extensions.code`, including those that
 * graphql-js, @apollo/gateway and Yoga raise about the request itself
 * (invalid variables, unknown operation names, malformed query strings or
 * multipart bodies), which come without one.
 */
import { GraphQLError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** The code of a request error that has none, from graphql-js's wording. */
function requestErrorCode(message: string): string {
  if (message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';
  if (message.startsWith('Variable "$')) return 'BAD_USER_INPUT';
  if (/^(Unknown operation named|Must provide operation name|Unable to identify operation|Must provide an operation)/.test(message)) {
    return 'OPERATION_RESOLUTION_FAILURE';
  }
  return 'GRAPHQL_VALIDATION_FAILED';
}

/** Adds a code to an error that has none (after the shared masking, which lets such GraphQL errors through). */
export function maskGatewayError(error: GraphQLError): GraphQLError {
  if (error.extensions?.code) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code: requestErrorCode(error.message) },
  });
}

/**
 * A request Yoga cannot parse (malformed JSON in a GET query string or a
 * form body, a broken multipart upload) is answered 400 BAD_REQUEST, not
 * masked as an internal error.
 */
export const useRequestParseErrors = (): Plugin => ({
  onRequestParse({ requestParser, setRequestParser }) {
    if (!requestParser) return;
    setRequestParser(async (request) => {
      try {
        return await requestParser(request);
      } catch (error) {
        const graphqlError = error instanceof GraphQLError ? error : undefined;
        if (graphqlError?.extensions?.code) throw graphqlError;
        const message = graphqlError?.message ?? (error instanceof SyntaxError ? 'The request carries malformed JSON.' : 'The request could not be read.');
        throw createGraphQLError(message, { extensions: { ...graphqlError?.extensions, code: 'BAD_REQUEST', http: { status: 400 } } });
      }
    });
  },
});
