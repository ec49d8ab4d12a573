/**
 * Applies the presence changes that time makes: a device that stopped
 * beating expires (its user goes OFFLINE when no device is left), activity
 * ages (ONLINE becomes AWAY). Every process hosting this subgraph sweeps;
 * the store's row locks make each change happen, and be announced, once.
 *
 * Timing: a client that vanishes without signing off goes OFFLINE at most
 * device timeout + sweep interval after its last heartbeat (65 s by default);
 * a user goes AWAY at most idle timeout + sweep interval after their last
 * activity (5 min 5 s by default).
 */
import { log, type PubSubEngine } from '@chat/common';
import type { PresenceChange, PresenceStore } from '../store/presence-store.ts';
import { announce } from './presence-service.ts';
import { presenceTime, type PresenceTiming } from './presence-timing.ts';

/** Expired devices are deleted this many sweeps after expiring at the earliest (and one device timeout). */
const KEEP_EXPIRED_SWEEPS = 10;

export class PresenceSweeper {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(
    private readonly store: PresenceStore,
    private readonly pubsub: PubSubEngine,
    private readonly timing: PresenceTiming,
  ) {}

  /** Sweeps every `sweepMs` until `stop`; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      // A slow sweep is not overlapped by the next one.
      this.#running ??= this.sweep()
        .catch((error: unknown) => log.warn('presence sweep failed', { error }))
        .finally(() => (this.#running = undefined));
    }, this.timing.sweepMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * One sweep: applies and announces the changes due now, then deletes
   * devices long expired (kept until then so that a missed sweep is caught
   * up by the next).
   * @returns the changes made.
   */
  async sweep(): Promise<PresenceChange[]> {
    const at = presenceTime(this.timing);
    const changes = await this.store.sweep(at);
    for (const change of changes) {
      await announce(this.pubsub, change.userId, change).catch((error: unknown) =>
        log.warn('could not announce a presence change', { userId: change.userId, status: change.status, error }),
      );
    }
    const keep = Math.max(this.timing.deviceTimeoutMs, KEEP_EXPIRED_SWEEPS * this.timing.sweepMs);
    await this.store.forgetDevices(new Date(at.now.getTime() - keep));
    return changes;
  }
}
