/**
 * Which sessions ended, as this gateway hears of it: the users subgraph
 * announces every ended session on the event bus (`Topics.sessionsEnded`,
 * common/src/sessions.ts), in this process or, with Redis, from any process.
 * Live streams register here by session and are told once when theirs ends.
 */
import { log, Topics, type PubSubEngine, type SessionsEndedEvent } from '@chat/common';

export class EndedSessionWatch {
  readonly #watchers = new Map<string, Set<() => void>>();
  #subscription: number | undefined;

  private constructor(private readonly pubsub: PubSubEngine) {}

  /** Listens on the bus from now on; resolves once the subscription is in place. */
  static async start(pubsub: PubSubEngine): Promise<EndedSessionWatch> {
    const watch = new EndedSessionWatch(pubsub);
    watch.#subscription = await pubsub.subscribe(
      Topics.sessionsEnded,
      (event: SessionsEndedEvent) => watch.#ended(event),
      {},
    );
    return watch;
  }

  /**
   * Calls `onEnded` once when the session ends.
   * @returns a function that stops watching (call it when the stream ends first)
   */
  watch(sessionId: string, onEnded: () => void): () => void {
    let watchers = this.#watchers.get(sessionId);
    if (!watchers) this.#watchers.set(sessionId, (watchers = new Set()));
    watchers.add(onEnded);
    return () => {
      watchers.delete(onEnded);
      if (watchers.size === 0 && this.#watchers.get(sessionId) === watchers) this.#watchers.delete(sessionId);
    };
  }

  /** Sessions with at least one live stream in this process (for tests and metrics). */
  get watched(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    if (this.#subscription !== undefined) this.pubsub.unsubscribe(this.#subscription);
    this.#subscription = undefined;
    this.#watchers.clear();
  }

  #ended({ sessionIds }: SessionsEndedEvent): void {
    for (const sessionId of Array.isArray(sessionIds) ? sessionIds : []) {
      const watchers = this.#watchers.get(String(sessionId));
      if (!watchers) continue;
      this.#watchers.delete(String(sessionId));
      for (const onEnded of watchers) {
        try {
          onEnded();
        } catch (error) {
          log.error('ending a stream of an ended session failed', { error: String(error) });
        }
      }
    }
  }
}
