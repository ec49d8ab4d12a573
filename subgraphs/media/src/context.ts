import type { BaseContext, PubSubEngine, Runtime } from '@chat/common';
import type { MediaService } from './services/media-service.ts';

export interface Context extends BaseContext {
  media: MediaService;
  pubsub: PubSubEngine;
}

export type { Runtime };
