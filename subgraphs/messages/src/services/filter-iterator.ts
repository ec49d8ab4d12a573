/**
 * Keeps only the events `accept` lets through. `return` (and `throw`) are
 * forwarded to the source, so stopping the subscription removes its pub/sub
 * listener, and a `next` pending at that moment ends with `done`. Once closed,
 * `next` answers `done` at once: graphql-subscriptions' iterator would instead
 * leave a `next` called after `return` pending forever.
 */
export function filterAsyncIterator<T>(source: AsyncIterator<T>, accept: (value: T) => boolean): AsyncIterableIterator<T> {
  let closed = false;
  const close = async (): Promise<IteratorReturnResult<undefined>> => {
    if (!closed) {
      closed = true;
      await source.return?.();
    }
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      while (!closed) {
        const step = await source.next();
        if (step.done) return close();
        if (!closed && accept(step.value)) return step;
      }
      return { done: true, value: undefined };
    },
    return: close,
    async throw(error: unknown) {
      await close();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
