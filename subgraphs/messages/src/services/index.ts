/**
 * The messages subgraph's services, one per capability, sharing one
 * `MessageAccess` per request (the viewer, their standing in each chat,
 * announcements). Resolvers call the service of the capability they serve.
 */
import type { Viewer } from '@chat/common';
import { EditService } from './edit-service.ts';
import { ExportService } from './export-service.ts';
import { HistoryService } from './history-service.ts';
import { MessageAccess, type MessageServiceDeps } from './message-access.ts';
import { ReactionService } from './reaction-service.ts';
import { ReceiptService } from './receipt-service.ts';
import { SendService } from './send-service.ts';
import { TypingService } from './typing-service.ts';

export interface MessageServices {
  access: MessageAccess;
  sending: SendService;
  history: HistoryService;
  edits: EditService;
  reactions: ReactionService;
  receipts: ReceiptService;
  typing: TypingService;
  exports: ExportService;
}

/** The services of one request (one subscription for `chatEvents`), for `viewer`. */
export function createMessageServices(viewer: Viewer | null, deps: MessageServiceDeps): MessageServices {
  const access = new MessageAccess(viewer, deps);
  return {
    access,
    sending: new SendService(access, deps),
    history: new HistoryService(access, deps),
    edits: new EditService(access, deps),
    reactions: new ReactionService(access, deps),
    receipts: new ReceiptService(access, deps),
    typing: new TypingService(access, deps),
    exports: new ExportService(access, deps),
  };
}

export type { MessageRules, MessageServiceDeps } from './message-access.ts';
