/**
 * Production: no "Did you mean …?" in any error a client gets. graphql-js
 * adds them to validation errors (fields, arguments, types, enum values,
 * input fields in the document) and to the coercion errors of variables
 * (enum values, input fields), which would otherwise spell the schema out
 * one typo at a time to someone who cannot introspect it. Removed from the
 * results of Yoga's enveloped validate, execute and subscribe, which the
 * graphql-ws path in server.ts calls too.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';

/** graphql-js's hint: ` Did you mean "a"?`, `… "a", "b", or "c"?`, `… the enum value "A"?`, `… to use an inline fragment on "T"?`. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

const hasSuggestion = (error: Error): boolean => error.message.search(SUGGESTION) !== -1;

/** The error without its hint; the same error when it has none. */
export function withoutSuggestion<E extends Error>(error: E): E | GraphQLError {
  if (!hasSuggestion(error)) return error;
  if (!(error instanceof GraphQLError)) return new GraphQLError(error.message.replace(SUGGESTION, ''));
  return new GraphQLError(error.message.replace(SUGGESTION, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: error.extensions,
  });
}

const stripResult = ({
  result,
  setResult,
}: {
  result: ExecutionResult;
  setResult: (result: ExecutionResult) => void;
}): void => {
  if (result.errors?.some(hasSuggestion)) setResult({ ...result, errors: result.errors.map(withoutSuggestion) });
};

export function useNoSuggestions(): Plugin {
  return {
    onValidate() {
      return ({ valid, result, setResult }) => {
        if (!valid && result.some(hasSuggestion)) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute() {
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, stripResult) };
    },
    onSubscribe() {
      return { onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, stripResult) };
    },
  };
}
