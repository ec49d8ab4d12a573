/**
 * One subgraph on an in-memory runtime, and what its tests do with it: run an
 * operation as someone, read the result, seed users and chats.
 */
import assert from 'node:assert/strict';
import type { ExecutionResult } from 'graphql';
import type { Viewer } from '../auth.ts';
import { createMemoryRuntime, type Runtime } from '../runtime.ts';
import { executeSubgraph, subscribeSubgraph, type Subgraph } from '../subgraph.ts';
import { errorOf, plain } from './results.ts';
import { seedChat, seedUser, seedUsers, type TestChatOptions, type TestUser, type TestUserOptions } from './seed.ts';
import { viewerOf } from './sessions.ts';

/**
 * Whom an operation runs as: a seeded user, a viewer, an `Authorization`
 * value (`Bearer <token>`), or nobody (null or undefined: anonymous).
 */
export type TestCaller = TestUser | Viewer | string | null | undefined;

export type Variables = Record<string, unknown>;

/** An error as a client reads it: its message and extensions (`code`, `reason`, ...). */
export interface TestError {
  message: string;
  extensions: Record<string, unknown>;
}

export interface SubgraphTestkit<S extends Subgraph> {
  runtime: Runtime;
  subgraph: S;
  /** Executes a query or mutation as `as`. */
  run(query: string, variables?: Variables, as?: TestCaller): Promise<ExecutionResult>;
  /** Executes an operation that must succeed and @returns its data as plain JSON. */
  ok<T = any>(query: string, variables?: Variables, as?: TestCaller): Promise<T>;
  /** Executes an operation that must be refused with exactly one error and @returns that error (`errorOf`). */
  refusal(query: string, variables?: Variables, as?: TestCaller): Promise<TestError>;
  /** Subscribes as `as`: the event stream, or the result carrying a refusal. */
  subscribe(
    query: string,
    variables?: Variables,
    as?: TestCaller,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
  /** The viewer the gateway would forward for `as`. */
  viewer(as: TestCaller): Promise<Viewer | null>;
  seed: {
    user(name: string, options?: TestUserOptions): Promise<TestUser>;
    users<Name extends string>(
      ids: Readonly<Record<Name, string>>,
      options?: Omit<TestUserOptions, 'id' | 'username'>,
    ): Promise<Record<Name, TestUser>>;
    chat(options: TestChatOptions): Promise<string>;
  };
  /** Closes the subgraph, then the runtime. */
  close(): Promise<void>;
}

/**
 * A subgraph made by `create` on a fresh in-memory runtime (a copy of the
 * migrated template: fast). `create` may adjust the runtime's configuration
 * before it builds the subgraph.
 * @example
 * let kit: SubgraphTestkit<ChatsSubgraph>;
 * before(async () => (kit = await createSubgraphTestkit(createChatsSubgraph)));
 * after(() => kit.close());
 */
export async function createSubgraphTestkit<S extends Subgraph>(
  create: (runtime: Runtime) => S | Promise<S>,
): Promise<SubgraphTestkit<S>> {
  const runtime = await createMemoryRuntime();
  let subgraph: S;
  try {
    subgraph = await create(runtime);
  } catch (error) {
    await runtime.close();
    throw error;
  }
  const viewer = async (as: TestCaller): Promise<Viewer | null> => {
    if (as === null || as === undefined) return null;
    if (typeof as === 'string') return viewerOf(runtime, as);
    return 'auth' in as ? as.viewer : as;
  };
  const run = async (query: string, variables: Variables = {}, as?: TestCaller) =>
    executeSubgraph(subgraph, { query, variables, viewer: await viewer(as) });
  return {
    runtime,
    subgraph,
    run,
    ok: async (query, variables, as) => {
      const result = await run(query, variables, as);
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      return plain(result.data);
    },
    refusal: async (query, variables, as) => {
      const result = await run(query, variables, as);
      assert.equal(result.errors?.length, 1, JSON.stringify(result));
      // graphql-js gives every error an extensions object, empty or not.
      return errorOf(result) as TestError;
    },
    subscribe: async (query, variables = {}, as) =>
      subscribeSubgraph(subgraph, { query, variables, viewer: await viewer(as) }),
    viewer,
    seed: {
      user: (name, options) => seedUser(runtime, name, options),
      users: (ids, options) => seedUsers(runtime, ids, options),
      chat: (options) => seedChat(runtime, options),
    },
    close: async () => {
      try {
        await subgraph.close?.();
      } finally {
        await runtime.close();
      }
    },
  };
}
