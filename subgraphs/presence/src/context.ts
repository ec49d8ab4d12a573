import type { BaseContext, PubSubEngine, Runtime } from '@chat/common';
import type { PresenceService } from './services/presence-service.ts';

export interface Context extends BaseContext {
  presence: PresenceService;
  pubsub: PubSubEngine;
}

export type { Runtime };
