/** How long devices live and users stay active: from configuration, or given by tests. */
import type { PresenceTime } from '../store/presence-store.ts';

export interface PresenceTiming {
  /** A device with no heartbeat for this long is gone. @default PRESENCE_DEVICE_TIMEOUT_SECONDS (60 s) */
  deviceTimeoutMs: number;
  /** A user whose live devices reported no activity for this long is AWAY. @default PRESENCE_IDLE_SECONDS (300 s) */
  idleMs: number;
  /** How often the sweeper looks for changes that time made. @default PRESENCE_SWEEP_MS (5 s) */
  sweepMs: number;
  /** The clock. @default the system clock */
  now: () => Date;
}

/** The timing of `settings` (the presence config), on the system clock unless it names one. */
export function presenceTiming(settings: Omit<PresenceTiming, 'now'> & Partial<PresenceTiming>): PresenceTiming {
  return { now: () => new Date(), ...settings };
}

/** The current instant, and the activity that still counts as recent at it. */
export function presenceTime(timing: PresenceTiming): PresenceTime {
  const now = timing.now();
  return { now, activeAfter: new Date(now.getTime() - timing.idleMs) };
}
