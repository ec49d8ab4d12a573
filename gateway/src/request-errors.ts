/**
 * Every error a client gets carries `extensions.code`, including those that
 * graphql-js, @apollo/gateway and Yoga raise about the request itself. Each
 * is tagged where it is raised: parse and validation errors in Yoga's
 * enveloped `parse` and `validate` (which the graphql-ws path in server.ts
 * calls too), variables that do not coerce before execution or subscription
 * starts, and bodies Yoga cannot read in its request parser.
 */
import { getOperationAST, getVariableValues, GraphQLError, type ExecutionArgs } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { withCode, withExtensions, type GatewayCode } from './errors.ts';

/**
 * A request error that nothing tagged (none is known; a library may add
 * one): GRAPHQL_VALIDATION_FAILED, as every request error without a code
 * was before each was tagged at its source.
 */
export function maskGatewayError(error: GraphQLError): GraphQLError {
  return error.extensions?.code ? error : withCode(error, 'GRAPHQL_VALIDATION_FAILED');
}

const untagged = (error: unknown): error is GraphQLError => error instanceof GraphQLError && !error.extensions?.code;

/**
 * Variables that do not coerce to their declared types: BAD_USER_INPUT, one
 * error per problem, checked as @apollo/gateway (and graphql-js) would.
 * @returns undefined when they coerce, or when the operation cannot be told (refused elsewhere)
 */
function variableErrors(args: ExecutionArgs): GraphQLError[] | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation?.variableDefinitions?.length) return undefined;
  const { errors } = getVariableValues(args.schema, operation.variableDefinitions, args.variableValues ?? {});
  return errors?.map((error) => withCode(error, 'BAD_USER_INPUT'));
}

/**
 * Tags request errors where they are raised. Registered after the other
 * plugins: limits and their accounting run first, as when the executor
 * itself refused the variables.
 */
export const useRequestErrorCodes = (): Plugin => ({
  onParse() {
    return ({ result, replaceParseResult }) => {
      if (untagged(result)) replaceParseResult(withCode(result, 'GRAPHQL_PARSE_FAILED'));
    };
  },
  onValidate({ validateFn, setValidationFn }) {
    // graphql-js 16 can throw from validation (a bad @skip argument on a subscription's root field).
    setValidationFn((...args) => {
      try {
        return validateFn(...args);
      } catch (error) {
        throw untagged(error) ? withCode(error, 'GRAPHQL_VALIDATION_FAILED') : error;
      }
    });
    return ({ result, setResult }) => {
      if (!result.some(untagged)) return;
      setResult(result.map((error) => (untagged(error) ? withCode(error, 'GRAPHQL_VALIDATION_FAILED') : error)));
    };
  },
  onExecute: refuseVariables,
  onSubscribe: refuseVariables,
});

/** Stops an operation whose variables do not coerce, with their errors (as request errors over HTTP). */
function refuseVariables({
  args,
  setResultAndStopExecution,
}: {
  args: ExecutionArgs;
  setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void;
}): void {
  const errors = variableErrors(args);
  if (errors) setResultAndStopExecution({ errors: overHttp(args) ? errors.map(asRequestError) : errors });
}

/** Whether the operation came over HTTP (Yoga's context has the request; the graphql-ws path's has none). */
const overHttp = (args: ExecutionArgs) => Boolean((args.contextValue as { request?: unknown } | undefined)?.request);

/**
 * Variables that do not coerce refuse the whole request before it runs: 400 to a client that accepts
 * `application/graphql-response+json`, 200 with plain `application/json` (the GraphQL-over-HTTP spec, as Yoga
 * answers a document that does not validate: `spec` keeps the legacy type at 200). Yoga removes `http` from the
 * body; it is added over HTTP only, so nothing carries it over graphql-ws.
 */
function asRequestError(error: GraphQLError): GraphQLError {
  return withExtensions(error, { ...error.extensions, http: { spec: true, status: 400 } });
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
        const message =
          graphqlError?.message ??
          (error instanceof SyntaxError ? 'The request carries malformed JSON.' : 'The request could not be read.');
        const code: GatewayCode = 'BAD_REQUEST';
        throw createGraphQLError(message, { extensions: { ...graphqlError?.extensions, code, http: { status: 400 } } });
      }
    });
  },
});

/**
 * `error` without `extensions.serviceName`, which @apollo/gateway adds: a production gateway's masking
 * (pipeline.ts) passes every error through it, results and each event of a stream alike, over HTTP and
 * graphql-ws. How the deployment is cut is nobody's business outside it; a client acts on `code` alone.
 */
export function withoutServiceName(error: GraphQLError): GraphQLError {
  if (error.extensions?.serviceName === undefined) return error;
  const { serviceName: _, ...extensions } = error.extensions;
  return withExtensions(error, extensions);
}
