/** The presence subgraph's configuration: what its process composes besides the runtime's. */
import { defineConfigModel, type ConfigOf } from '@chat/common/config';
import { z } from 'zod';

export const PresenceModel = defineConfigModel({
  title: 'Presence',
  docs: 'docs/PRESENCE.md',
  variables: z.object({
    PRESENCE_DEVICE_TIMEOUT_SECONDS: z.coerce
      .number()
      .min(0.5)
      .max(3600)
      .default(60)
      .describe('A device with no heartbeat for this long is gone'),
    PRESENCE_IDLE_SECONDS: z.coerce
      .number()
      .min(0.5)
      .max(86_400)
      .default(300)
      .describe('A user whose devices report no activity for this long is AWAY'),
    PRESENCE_SWEEP_MS: z.coerce
      .number()
      .int()
      .min(50)
      .max(60_000)
      .default(5_000)
      .describe('How often expired devices and idle users are looked for'),
  }),
  read: (values) => ({
    deviceTimeoutMs: values.PRESENCE_DEVICE_TIMEOUT_SECONDS * 1000,
    idleMs: values.PRESENCE_IDLE_SECONDS * 1000,
    sweepMs: values.PRESENCE_SWEEP_MS,
  }),
});

export const PRESENCE_MODELS = { presence: PresenceModel };

export type PresenceConfig = ConfigOf<typeof PRESENCE_MODELS>;
