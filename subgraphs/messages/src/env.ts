/**
 * The messages subgraph's configuration, and its dedicated consumer's: what
 * each process composes besides the runtime's.
 */
import { CassandraModel, defineConfigModel, KafkaModel, runtimeModels, type ConfigOf } from '@chat/common/config';
import { z } from 'zod';

export const MessagesModel = defineConfigModel({
  title: 'Messages',
  docs: 'docs/EVENTS.md',
  variables: z.object({
    MESSAGE_CONSUMER: z
      .enum(['on', 'off'])
      .default('on')
      .describe(
        '`on`: a process hosting the messages subgraph also consumes the Kafka log; `off`: leave it to dedicated ' +
          'consumers (`npm run consumer -w @chat/subgraph-messages`)',
      ),
    MESSAGE_EDIT_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .default(15 * 60)
      .describe('How long after sending its sender may edit a message'),
    MESSAGE_DELETE_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .default(48 * 3600)
      .describe('How long after sending its sender may delete a message for everyone (admins: always)'),
    TYPING_TTL_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(6_000)
      .describe('How long a `setTyping(typing: true)` lasts unless repeated'),
  }),
  read: (values) => ({
    consume: values.MESSAGE_CONSUMER === 'on',
    editWindowMs: values.MESSAGE_EDIT_WINDOW_SECONDS * 1000,
    deleteWindowMs: values.MESSAGE_DELETE_WINDOW_SECONDS * 1000,
    typingTtlMs: values.TYPING_TTL_MS,
  }),
});

/** The message log and history stores: the subgraph's and the consumer's. */
export const MESSAGE_STORE_MODELS = { kafka: KafkaModel, cassandra: CassandraModel };

export const MESSAGES_MODELS = { messages: MessagesModel, ...MESSAGE_STORE_MODELS };

/** What a dedicated consumer process reads (`consumer-main.ts`): the runtime's models and the stores. */
export const CONSUMER_MODELS = { ...runtimeModels({ issuesTokens: false }), ...MESSAGE_STORE_MODELS };

export type MessagesConfig = ConfigOf<typeof MESSAGES_MODELS>;
export type MessageStoreConfig = ConfigOf<typeof MESSAGE_STORE_MODELS>;
