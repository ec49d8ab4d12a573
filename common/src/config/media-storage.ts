/**
 * Media storage: any S3-compatible store when `S3_ENDPOINT` is set, else local
 * disk under MEDIA_DIR, served with signed URLs by the process hosting the
 * media subgraph (the embedded default).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { defineConfigModel, ZOptionalUrlSchema } from '../env.ts';

export const MediaStorageModel = defineConfigModel({
  title: 'Media storage',
  docs: 'docs/MEDIA.md',
  variables: z.object({
    S3_ENDPOINT: ZOptionalUrlSchema.describe('Media in an S3-compatible store at this URL instead of on local disk'),
    S3_REGION: z.string().default('us-east-1').describe('The S3 region'),
    S3_ACCESS_KEY_ID: z.string().optional().describe('S3 credentials, with `S3_SECRET_ACCESS_KEY`'),
    S3_SECRET_ACCESS_KEY: z.string().optional().describe('S3 credentials, with `S3_ACCESS_KEY_ID`'),
    S3_FORCE_PATH_STYLE: z
      .enum(['on', 'off'])
      .default('off')
      .describe('`on`: path-style bucket addressing (S3Proxy, MinIO); AWS uses virtual-hosted style'),
    MEDIA_BUCKET_QUARANTINE: z
      .string()
      .default('chat-quarantine')
      .describe('Uploads land here, unchecked, never served'),
    MEDIA_BUCKET_CLEAN: z.string().default('chat-media').describe('What processing accepted; downloads come from here'),
    MEDIA_DIR: z
      .string()
      .optional()
      .describe('Local media storage, without `S3_ENDPOINT`. Default: `<DATA_DIR>/media`'),
    PUBLIC_URL: ZOptionalUrlSchema.describe(
      'The public origin clients reach this deployment at (signed local media URLs point there). Default: ' +
        '`http://localhost:<PORT>`',
    ),
  }),
  read: (values, context) => ({
    s3: values.S3_ENDPOINT
      ? {
          endpoint: values.S3_ENDPOINT,
          region: values.S3_REGION,
          credentials:
            values.S3_ACCESS_KEY_ID && values.S3_SECRET_ACCESS_KEY
              ? { accessKeyId: values.S3_ACCESS_KEY_ID, secretAccessKey: values.S3_SECRET_ACCESS_KEY }
              : undefined,
          forcePathStyle: values.S3_FORCE_PATH_STYLE === 'on',
          buckets: { quarantine: values.MEDIA_BUCKET_QUARANTINE, clean: values.MEDIA_BUCKET_CLEAN },
        }
      : null,
    local: {
      root: values.MEDIA_DIR ?? join(context.dataDir, 'media'),
      publicBaseUrl: values.PUBLIC_URL ?? `http://localhost:${context.port}`,
    },
  }),
});

export type MediaStorageConfig = ReturnType<(typeof MediaStorageModel)['read']>;
