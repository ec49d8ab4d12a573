import type { BaseContext, PubSubEngine, Runtime } from '@chat/common';
import type { MessageService } from './services/message-service.ts';

export interface Context extends BaseContext {
  messages: MessageService;
  pubsub: PubSubEngine;
}

export type { Runtime };
