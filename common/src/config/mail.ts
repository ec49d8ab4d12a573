/** Where confirmation codes go: SMTP, or the development outbox. */
import { join } from 'node:path';
import { z } from 'zod';
import { defineConfigModel, ZOptionalUrlSchema } from '../env.ts';

export const MailModel = defineConfigModel({
  title: 'Mail',
  docs: 'docs/CONTACT-CHANGES.md',
  variables: z.object({
    SMTP_URL: ZOptionalUrlSchema.describe(
      'Send confirmation codes by SMTP (`smtp://user:pass@host:587`, or `smtps://`). Unset: emails and SMS go to ' +
        'the development outbox',
    ),
    MAIL_FROM: z.string().default('Chat <no-reply@chat.invalid>').describe('The sender of confirmation emails'),
    OUTBOX_DIR: z
      .string()
      .optional()
      .describe(
        'The development outbox: every email and SMS not sent for real, one JSON file each. Default: ' +
          '`<DATA_DIR>/outbox`',
      ),
  }),
  read: (values, context) => ({
    smtpUrl: values.SMTP_URL,
    from: values.MAIL_FROM,
    outboxDir: values.OUTBOX_DIR ?? join(context.dataDir, 'outbox'),
  }),
});

export type MailConfig = ReturnType<(typeof MailModel)['read']>;
