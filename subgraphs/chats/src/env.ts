/** The chats subgraph's configuration: what its process composes besides the runtime's. */
import { defineConfigModel, type ConfigOf } from '@chat/common/config';
import { z } from 'zod';

export const ChatsModel = defineConfigModel({
  title: 'Chats',
  docs: 'docs/CONNECTIONS.md',
  variables: z.object({
    DIRECT_CHAT_POLICY: z
      .enum(['anyone', 'connections'])
      .default('anyone')
      .describe('Who may start a direct chat with whom: `anyone` (unless blocked), or `connections` only'),
  }),
  read: (values) => ({ directChatPolicy: values.DIRECT_CHAT_POLICY }),
});

export const CHATS_MODELS = { chats: ChatsModel };

export type ChatsConfig = ConfigOf<typeof CHATS_MODELS>;
