/**
 * The contract between a subgraph and whatever hosts it: its own HTTP and
 * WebSocket server (src/main.ts of each subgraph), or the gateway process,
 * which mounts it in-process in the embedded mode. Both hosts execute through
 * the functions below, so the two modes share every code path above transport.
 */
import {
  execute,
  GraphQLError,
  parse,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONWebKeySet } from 'jose';
import type { Viewer } from './auth.ts';
import { log } from './log.ts';

import type { SubgraphName } from './subgraph-names.ts';

export { SUBGRAPH_NAMES, SUBGRAPH_PORTS, type SubgraphName } from './subgraph-names.ts';

export interface BaseContext {
  viewer: Viewer | null;
}

export interface Subgraph<TContext extends BaseContext = BaseContext> {
  name: SubgraphName;
  schema: GraphQLSchema;
  /**
   * Builds the per-operation context for the viewer the gateway
   * authenticated (null: anonymous): checks that their session still goes
   * on and creates fresh DataLoaders. @throws UNAUTHENTICATED for an ended session.
   */
  createContext(viewer: Viewer | null): Promise<TContext>;
  /**
   * Plain HTTP requests the subgraph answers itself, outside GraphQL (the
   * media subgraph's signed upload and download URLs in the embedded mode),
   * served by whichever process hosts it. @returns whether it answered.
   */
  handleHttp?(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  /** The public access-token keys, served at `/.well-known/jwks.json` (the users subgraph, which issues tokens). */
  jwks?(): JSONWebKeySet;
  /** Releases what the subgraph opened beyond the runtime (connections, consumers). */
  close?(): Promise<void>;
}

export interface SubgraphRequest {
  query: string;
  variables?: Record<string, unknown> | null | undefined;
  operationName?: string | null | undefined;
  /** Who the gateway authenticated; null for an anonymous caller. */
  viewer: Viewer | null;
}

/**
 * Errors with a code from the registry pass through; anything else is logged
 * here and replaced by a generic INTERNAL_SERVER_ERROR, so no message or
 * stack of an unexpected failure reaches a client.
 */
export function maskError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) {
    const original = error.originalError;
    if (!original || original instanceof GraphQLError || (original as { extensions?: unknown }).extensions) {
      return error;
    }
  }
  log.error('unexpected error in resolver', { error });
  const path = error instanceof GraphQLError ? error.path : undefined;
  return new GraphQLError('Unexpected error.', { path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

function maskResult(result: ExecutionResult): ExecutionResult {
  return result.errors ? { ...result, errors: result.errors.map(maskError) } : result;
}

const documentCache = new Map<string, DocumentNode>();

function prepare(subgraph: Subgraph, query: string): DocumentNode | readonly GraphQLError[] {
  const key = `${subgraph.name}\u0000${query}`;
  const cached = documentCache.get(key);
  if (cached) return cached;
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (error) {
    return [error as GraphQLError];
  }
  const errors = validate(subgraph.schema, document);
  if (errors.length > 0) return errors;
  if (documentCache.size > 1000) documentCache.clear();
  documentCache.set(key, document);
  return document;
}

/**
 * Parses and validates the operation and builds its context.
 * @returns execution arguments, or the errors that refuse the operation.
 */
export async function prepareOperation(
  subgraph: Subgraph,
  request: SubgraphRequest,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const document = prepare(subgraph, request.query);
  if (!('kind' in document)) return document;
  let contextValue: BaseContext;
  try {
    contextValue = await subgraph.createContext(request.viewer);
  } catch (error) {
    return [
      maskError(
        error instanceof GraphQLError ? error : new GraphQLError('Context failed', { originalError: error as Error }),
      ),
    ];
  }
  return {
    schema: subgraph.schema,
    document,
    variableValues: request.variables ?? undefined,
    operationName: request.operationName ?? undefined,
    contextValue,
  };
}

/** Runs prepared arguments of a query or mutation, masking unexpected errors. */
export async function executePrepared(args: ExecutionArgs): Promise<ExecutionResult> {
  return maskResult(await execute(args));
}

/** Subscribes with prepared arguments, masking unexpected errors on every event. */
export async function subscribePrepared(
  args: ExecutionArgs,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const result = await subscribe(args);
  if (!(Symbol.asyncIterator in result)) return maskResult(result);
  return mapAsyncIterator(result, maskResult);
}

/** Executes a query or mutation against a subgraph in-process. */
export async function executeSubgraph(subgraph: Subgraph, request: SubgraphRequest): Promise<ExecutionResult> {
  const args = await prepareOperation(subgraph, request);
  return 'schema' in args ? executePrepared(args) : { errors: args };
}

/**
 * Subscribes to a subscription operation of a subgraph in-process.
 * @returns the event stream, or a single result carrying the refusal.
 */
export async function subscribeSubgraph(
  subgraph: Subgraph,
  request: SubgraphRequest,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const args = await prepareOperation(subgraph, request);
  return 'schema' in args ? subscribePrepared(args) : { errors: args };
}

/** Maps an async iterator in order, forwarding `return` so the source is closed with it. */
export function mapAsyncIterator<T, U>(
  source: AsyncIterableIterator<T> | AsyncGenerator<T>,
  map: (value: T) => U | Promise<U>,
): AsyncIterableIterator<U> {
  const iterator: AsyncIterableIterator<U> = {
    async next() {
      const step = await source.next();
      return step.done ? { done: true, value: undefined } : { done: false, value: await map(step.value) };
    },
    async return() {
      await source.return?.(undefined);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

type ResolverMap = NonNullable<
  Extract<Parameters<typeof buildSubgraphSchema>[0], { resolvers?: unknown }>['resolvers']
>;

/**
 * Builds a Federation 2 subgraph schema. Resolvers are typed by the generated
 * `Resolvers` of each subgraph; @apollo/subgraph types them loosely, hence the
 * one cast, here.
 */
export function buildFederatedSchema(typeDefs: DocumentNode, resolvers: object): GraphQLSchema {
  return buildSubgraphSchema({ typeDefs, resolvers: resolvers as ResolverMap });
}
