/**
 * One source stream read once and delivered to many subscribers: copies of
 * the same subscription (same operation, variables and viewer session) share
 * one subgraph subscription and one execution per event, so a user who opens
 * it fifty times costs the gateway one. Each subscriber has its own queue;
 * the source is closed when the last subscriber leaves, and every subscriber
 * completes when the source does.
 *
 * A subscriber 1,024 results behind (`MAX_QUEUE_LENGTH` of the Repeater that
 * queues them) is ended with RATE_LIMITED, reason SLOW_CONSUMER: its client
 * does not keep up, and the others go on without it.
 */
import { Repeater, RepeaterOverflowError } from '@repeaterjs/repeater';
import type { ExecutionResult } from 'graphql';
import { refuse } from '../errors.ts';
import { serialiseOnce } from './shared-frames.ts';

type Opened = AsyncIterableIterator<ExecutionResult> | ExecutionResult;

interface Subscriber {
  push(result: ExecutionResult): Promise<unknown>;
  stop(error?: unknown): void;
}

export class Multicast {
  readonly #subscribers = new Set<Subscriber>();
  readonly #opened: Promise<Opened>;
  #source: AsyncIterableIterator<ExecutionResult> | undefined;
  #pumping = false;
  #over = false;

  /**
   * @param open opens the source (once, now); a result that is not a stream is each subscriber's refusal
   * @param onOver called once when the stream is over (source ended, refused, or left by its last subscriber)
   */
  constructor(
    open: () => Promise<Opened>,
    private readonly onOver: () => void,
  ) {
    this.#opened = open().catch((error: unknown) => {
      this.#end();
      throw error;
    });
  }

  /** Whether new subscribers must start a stream of their own. */
  get over(): boolean {
    return this.#over;
  }

  /** How many subscribers share the stream now. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** A subscriber's own stream, or the source's refusal. */
  async join(): Promise<Opened> {
    const opened = await this.#opened;
    if (!isStream(opened)) {
      this.#end();
      return opened;
    }
    this.#source = opened;
    return new Repeater<ExecutionResult>(async (push, stop) => {
      if (this.#over) return stop(); // the source ended while this subscriber was on its way
      const subscriber: Subscriber = { push, stop };
      this.#subscribers.add(subscriber);
      void this.#pump(); // runs while the stream lasts; it never rejects (a failing source ends each subscriber)
      await stop;
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0) this.#end();
    });
  }

  async #pump(): Promise<void> {
    if (this.#pumping || !this.#source) return;
    this.#pumping = true;
    try {
      for await (const result of this.#source) {
        if (this.#subscribers.size > 1) serialiseOnce(result);
        for (const subscriber of this.#subscribers) {
          try {
            // Not awaited: a subscriber's queue holds what it has not taken yet; the others do not wait for it.
            void subscriber.push(result).catch(() => {});
          } catch (error) {
            if (!(error instanceof RepeaterOverflowError)) throw error;
            subscriber.stop(
              refuse(
                'SLOW_CONSUMER',
                'The client did not keep up with this subscription; subscribe again from your cursor.',
              ),
            );
          }
        }
      }
    } catch (error) {
      // Each subscriber's stream ends with the source's error: nobody awaits the pump to receive it.
      for (const subscriber of this.#subscribers) subscriber.stop(error);
    } finally {
      for (const subscriber of this.#subscribers) subscriber.stop();
      this.#end();
    }
  }

  #end(): void {
    if (this.#over) return;
    this.#over = true;
    this.onOver();
    void this.#source?.return?.()?.catch(() => {});
  }
}

const isStream = (value: Opened): value is AsyncIterableIterator<ExecutionResult> => Symbol.asyncIterator in value;
