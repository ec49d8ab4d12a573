/**
 * Appends the SYSTEM messages of the outbox to the message log. The chats
 * subgraph records a membership or title change and its SYSTEM message in
 * one transaction (message_keys with produced_at null), then nudges
 * `Topics.outbox`; the relay appends what is unproduced and marks it
 * produced. A nudge lost with a pub/sub hiccup, or a relay that crashed
 * part-way, is covered by a poll every `intervalMs`.
 *
 * Every process hosting the messages subgraph runs one, so several may
 * append the same message: harmless, since the pipeline places a message
 * once by its ID. Each relay appends in creation order, so a chat's SYSTEM
 * messages are placed in the order they happened.
 */
import { log, Topics, type PubSubEngine } from '@chat/common';
import type { SendKeyStore } from '../store/send-key-store.ts';
import type { AccountErasures } from './account-erasures.ts';
import type { MessageLog } from './message-log.ts';

const BATCH = 100;

export class OutboxRelay {
  readonly #timer: NodeJS.Timeout;
  readonly #listening: Promise<number>;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(
    private readonly keys: SendKeyStore,
    private readonly messageLog: MessageLog,
    private readonly pubsub: PubSubEngine,
    /** Also rewrites history for deleted accounts, on the same wake-ups. */
    private readonly erasures?: AccountErasures,
    intervalMs = 2_000,
  ) {
    this.#listening = pubsub.subscribe(Topics.outbox, () => this.kick(), {});
    this.#timer = setInterval(() => this.kick(), intervalMs);
    this.#timer.unref();
    this.kick();
  }

  /** Runs a pass now, or once more after the one in progress. */
  kick(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain()
      .catch((error: unknown) => log.warn('outbox relay pass failed; the next poll retries', { error: String(error) }))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  async #drain(): Promise<void> {
    for (;;) {
      const batch = await this.keys.unproducedSystemMessages(BATCH);
      for (const message of batch) {
        if (this.#closed) return;
        await this.messageLog.append(message);
        await this.keys.markProduced(message);
      }
      if (batch.length < BATCH) break;
    }
    if (!this.#closed) await this.erasures?.drain();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.pubsub.unsubscribe(await this.#listening);
    await this.#running;
  }
}
