/**
 * No live stream outlives its session or its token, whatever the transport.
 *
 * Every subscription the gateway serves (graphql-ws or server-sent events)
 * watches its viewer's session: when the session ends on any instance
 * (logout, logoutEverywhere, endSession, changePassword, deleteMyAccount, an
 * operator's cut-off; announced on the event bus, ended-sessions.ts) the
 * stream delivers one last result, an UNAUTHENTICATED error with reason
 * SESSION_ENDED, and completes. A stream over HTTP also ends, with reason
 * TOKEN_EXPIRED, when the access token it was opened with expires: an HTTP
 * request cannot renew its token, so the client refreshes it and subscribes
 * again from its cursor. A graphql-ws socket instead lives on its own token,
 * renewed in band and closed at expiry (socket-sessions.ts).
 */
import { tokenRefused } from '@chat/common';
import type { ExecutionArgs, ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../subgraph-hosts.ts';
import type { EndedSessionWatch } from './ended-sessions.ts';

export const sessionEndedError = () => tokenRefused('The session has ended; log in again.', 'SESSION_ENDED');
export const tokenExpiredError = () =>
  tokenRefused('The access token has expired; refresh it and subscribe again.', 'TOKEN_EXPIRED');

export function useLiveStreamGuard(sessions: EndedSessionWatch): Plugin<GatewayContext> {
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const { viewer, tokenExpiresAt, transport } = args.contextValue;
      if (!viewer) return; // nothing to end: every subscription needs a viewer, and is refused without one
      setSubscribeFn(async (subscribeArgs: ExecutionArgs) => {
        // Watching starts before subscribing: a session that ends meanwhile still ends the stream.
        const ending = new Ending();
        const unwatch = sessions.watch(viewer.sessionId, () => ending.end(sessionEndedError()));
        const expiry =
          transport === 'http' && tokenExpiresAt
            ? setTimeout(() => ending.end(tokenExpiredError()), Math.max(0, tokenExpiresAt.getTime() - Date.now()))
            : undefined;
        const stop = () => {
          unwatch();
          clearTimeout(expiry);
        };
        let result;
        try {
          result = await subscribeFn(subscribeArgs);
        } catch (error) {
          stop();
          throw error;
        }
        if (!isAsyncIterable(result)) {
          stop();
          return result;
        }
        return ending.guard(result as AsyncIterable<ExecutionResult>, stop) as never;
      });
    },
  };
}

/** A stream's end, decided outside it: the error it ends with, once. */
class Ending {
  #error: GraphQLError | undefined;
  #wake: ((error: GraphQLError) => void) | undefined;

  end(error: GraphQLError): void {
    if (this.#error) return;
    this.#error = error;
    this.#wake?.(error);
  }

  /**
   * Passes `source` through until the end is decided, then delivers the
   * error as one last result, closes `source` and completes. `stop` runs once
   * the stream is over, however it ends.
   */
  guard(source: AsyncIterable<ExecutionResult>, stop: () => void): AsyncIterableIterator<ExecutionResult> {
    const iterator = source[Symbol.asyncIterator]();
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      stop();
      // Not awaited: the last result must not wait on a source that is slow to close.
      iterator.return?.()?.catch(() => {});
    };
    const last = (error: GraphQLError): IteratorResult<ExecutionResult> => {
      finish();
      return { done: false, value: { errors: [error] } };
    };
    const guarded: AsyncIterableIterator<ExecutionResult> = {
      next: () => {
        if (finished) return Promise.resolve({ done: true, value: undefined });
        if (this.#error) return Promise.resolve(last(this.#error));
        return new Promise((resolve, reject) => {
          // One waiter at a time: graphql-ws and Yoga pull a stream's results one after another.
          const wake = (error: GraphQLError) => {
            this.#wake = undefined;
            resolve(last(error));
          };
          this.#wake = wake;
          iterator.next().then(
            (step) => {
              if (this.#wake !== wake) return; // ended meanwhile: the last result was delivered instead
              this.#wake = undefined;
              if (step.done) finish();
              resolve(step);
            },
            (error: unknown) => {
              if (this.#wake !== wake) return;
              this.#wake = undefined;
              finish();
              reject(error);
            },
          );
        });
      },
      return: async () => {
        finish();
        return { done: true, value: undefined };
      },
      throw: async (error?: unknown) => {
        finish();
        throw error;
      },
      [Symbol.asyncIterator]: () => guarded,
    };
    return guarded;
  }
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
