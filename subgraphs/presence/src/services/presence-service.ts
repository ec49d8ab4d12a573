/**
 * Who may see and change presence, and how changes are announced.
 *
 * Presence is kept per device and aggregated per user. A device is live
 * until its `expiresAt`, which each heartbeat moves to now + the device
 * timeout; setPresence counts as an active heartbeat. The status others see
 * (the effective status) is OFFLINE with no live device or when the user
 * chose OFFLINE ("appear offline"), BUSY or AWAY when chosen, and for a
 * chosen ONLINE, ONLINE while some live device was active within the idle
 * timeout and AWAY otherwise. Each change of it is stored and published on
 * `Topics.presence(userId)` once; the sweeper applies those that time makes.
 */
import {
  badInput,
  forbidden,
  log,
  requireId,
  Topics,
  unauthenticated,
  type PubSubEngine,
  type Viewer,
} from '@chat/common';
import type DataLoader from 'dataloader';
import type {
  PresenceRecord,
  PresenceStatus,
  PresenceStore,
  PresenceUpdate,
  UserPresenceRef,
} from '../store/presence-store.ts';
import { DEFAULT_DEVICE_ID, parseDeviceId } from './presence-input.ts';
import { presenceTime, type PresenceTiming } from './presence-timing.ts';
import type { PresenceVisibility } from './presence-visibility.ts';

export const MAX_WATCHED_USERS = 500;

/** The event published on a user's presence topic: JSON-safe. */
export interface PresenceEvent {
  userId: string;
  status: PresenceStatus;
  lastSeenAt: string | null;
}

/** Publishes a change of `userId`'s effective status. */
export async function announce(
  pubsub: PubSubEngine,
  userId: string,
  presence: { status: PresenceStatus; lastSeenAt: Date | null },
): Promise<void> {
  const event: PresenceEvent = {
    userId,
    status: presence.status,
    lastSeenAt: presence.lastSeenAt?.toISOString() ?? null,
  };
  await pubsub.publish(Topics.presence(userId), event);
}

const notVisible = () =>
  forbidden('Only the user, those who share a chat with them and their connections may see their presence.');

export class PresenceService {
  readonly #presence: DataLoader<string, PresenceRecord>;
  #visible: DataLoader<string, boolean> | undefined;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: PresenceStore,
    private readonly pubsub: PubSubEngine,
    private readonly visibility: PresenceVisibility,
    private readonly timing: PresenceTiming,
  ) {
    this.#presence = store.loader();
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /** @throws FORBIDDEN when the viewer may not see the user's presence. */
  async presenceOf(userId: string): Promise<PresenceRecord> {
    const viewer = this.#requireViewer();
    this.#visible ??= this.visibility.loader(viewer.id);
    // Both batches go out together; the presence is only returned when visible.
    const [visible, presence] = await Promise.all([this.#visible.load(userId), this.#presence.load(userId)]);
    if (!visible) throw notVisible();
    return presence;
  }

  /** Chooses the viewer's status; an active heartbeat of `deviceId`. */
  async setPresence(status: PresenceStatus, deviceId: string | null | undefined): Promise<UserPresenceRef> {
    const viewer = this.#requireViewer();
    const { presence } = await this.#beat(viewer.id, parseDeviceId(deviceId ?? DEFAULT_DEVICE_ID), true, status);
    return { id: viewer.id, presence };
  }

  async heartbeat(deviceId: string, active: boolean | null | undefined): Promise<PresenceRecord> {
    const viewer = this.#requireViewer();
    return (await this.#beat(viewer.id, parseDeviceId(deviceId), active ?? null, null)).presence;
  }

  async signOff(deviceId: string): Promise<PresenceRecord> {
    const viewer = this.#requireViewer();
    const device = parseDeviceId(deviceId);
    return this.#apply(viewer.id, await this.store.signOff(viewer.id, device, presenceTime(this.timing)));
  }

  async #beat(
    userId: string,
    deviceId: string,
    active: boolean | null,
    chosen: PresenceStatus | null,
  ): Promise<PresenceUpdate> {
    const at = presenceTime(this.timing);
    const expiresAt = new Date(at.now.getTime() + this.timing.deviceTimeoutMs);
    const update = await this.store.beat(userId, { deviceId, active, expiresAt, chosen }, at);
    await this.#apply(userId, update);
    return update;
  }

  /**
   * Announces a change. It is stored already, and a retry of the request
   * would not announce it again, so a failure to publish is logged, not
   * returned to the device.
   */
  async #apply(userId: string, update: PresenceUpdate): Promise<PresenceRecord> {
    if (update.changed) {
      await announce(this.pubsub, userId, update.presence).catch((error: unknown) =>
        log.warn('could not announce a presence change', { userId, status: update.presence.status, error }),
      );
    }
    return update.presence;
  }

  /**
   * Topics to listen to for `presenceChanged(userIds)`.
   * @throws FORBIDDEN when `userIds` names someone whose presence the viewer may not see.
   */
  /** Whether the viewer may still see `userId`'s presence: asked afresh for each event of a subscription. */
  async stillVisible(userId: string): Promise<boolean> {
    const viewer = this.#requireViewer();
    return (await this.visibility.visibleTo(viewer.id, [userId])).has(userId);
  }

  async watchTopics(userIds: readonly string[] | null | undefined): Promise<string[]> {
    const viewer = this.#requireViewer();
    let ids: string[];
    if (userIds) {
      if (userIds.length > MAX_WATCHED_USERS) throw badInput(`userIds may name at most ${MAX_WATCHED_USERS} users.`);
      ids = [...new Set(userIds.map((id) => requireId(id, 'userIds').toString()))];
      const visible = await this.visibility.visibleTo(viewer.id, ids);
      if (ids.some((id) => !visible.has(id))) throw notVisible();
    } else {
      ids = await this.visibility.everyoneVisibleTo(viewer.id);
    }
    return ids.map(Topics.presence);
  }
}
