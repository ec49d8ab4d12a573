/** The users subgraph's configuration: what its process composes besides the runtime's. */
import { defineConfigModel, MailModel, type ConfigOf } from '@chat/common/config';
import { z } from 'zod';

export const UsersModel = defineConfigModel({
  title: 'Users',
  docs: 'docs/CACHING.md',
  variables: z.object({
    CONTACT_CODE_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(15 * 60)
      .describe('How long an email or phone confirmation code lasts'),
    SEARCH_RATE_LIMIT: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(30)
      .describe('User searches allowed per user in each 10-second window'),
  }),
  read: (values) => ({
    contactCodeTtlMs: values.CONTACT_CODE_TTL_SECONDS * 1000,
    searchPerWindow: values.SEARCH_RATE_LIMIT,
  }),
});

export const USERS_MODELS = { users: UsersModel, mail: MailModel };

export type UsersConfig = ConfigOf<typeof USERS_MODELS>;
