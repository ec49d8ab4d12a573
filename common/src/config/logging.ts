/**
 * Logging. `log.ts` reads these variables at each line (tests switch them at
 * run time); the model documents and validates them at start.
 */
import { z } from 'zod';
import { defineConfigModel } from '../env.ts';

export const LoggingModel = defineConfigModel({
  title: 'Logging',
  variables: z.object({
    LOG_LEVEL: z.string().optional().describe('`silent`: no log lines at all. Anything else: JSON lines on stderr'),
    DEBUG: z.string().optional().describe('Set (to anything): debug lines too'),
  }),
  read: (values) => ({ silent: values.LOG_LEVEL === 'silent', debug: Boolean(values.DEBUG) }),
});

export type LoggingConfig = ReturnType<(typeof LoggingModel)['read']>;
