import type { BaseContext, PubSubEngine, Runtime } from '@chat/common';
import type { MessageServices } from './services/index.ts';

export interface Context extends BaseContext {
  /** This request's services, one per capability. */
  messages: MessageServices;
  pubsub: PubSubEngine;
}

export type { Runtime };
