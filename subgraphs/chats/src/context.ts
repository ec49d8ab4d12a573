import type { BaseContext, Runtime } from '@chat/common';
import type { ChatService } from './services/chat-service.ts';

export interface Context extends BaseContext {
  chats: ChatService;
}

export type { Runtime };
