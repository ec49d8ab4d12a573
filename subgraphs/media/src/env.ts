/** The media subgraph's configuration: what its process composes besides the runtime's. */
import { defineConfigModel, MediaStorageModel, unsetIfEmpty, type ConfigOf } from '@chat/common/config';
import { z } from 'zod';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export const MediaModel = defineConfigModel({
  title: 'Media',
  docs: 'docs/MEDIA.md#storage-quota-and-upload-rates',
  variables: z.object({
    MEDIA_URL_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(300)
      .describe('How long a signed media download URL works; clients ask for a fresh one (the field) after'),
    MEDIA_QUOTA_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .default(2 * GiB)
      .describe(
        "Bytes a user's uploads may hold (every upload not deleted or rejected, pending ones by their declared " +
          'size, 2 GiB); `createUpload` refuses beyond it (`QUOTA_EXCEEDED`)',
      ),
    MEDIA_UPLOAD_BYTES_PER_HOUR: z.coerce
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .default(512 * MiB)
      .describe('Bytes a user may start uploading per rolling hour (`createUpload`, by declared size; 512 MiB)'),
    MEDIA_UPLOAD_FILES_PER_HOUR: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(100)
      .describe('Uploads a user may start per rolling hour'),
    MEDIA_UNATTACHED_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(3600)
      .max(365 * 86_400)
      .default(86_400)
      .describe(
        'An upload never attached to a message or set as an avatar is deleted, with its bytes, this long after it ' +
          "was created (at least an hour: the hourly upload rate counts the last hour's uploads)",
      ),
    CLAMD_ADDRESS: z
      .preprocess(
        unsetIfEmpty,
        z
          .string()
          .regex(/^[^:\s]+:\d{1,5}$/, 'host:port')
          .optional(),
      )
      .describe(
        "ClamAV's clamd (`host:port`): uploads are virus-scanned before they become READY. Unset: signature checks " +
          'only',
      ),
  }),
  read: (values) => ({
    downloadTtlSeconds: values.MEDIA_URL_TTL_SECONDS,
    limits: {
      quotaBytes: values.MEDIA_QUOTA_BYTES,
      bytesPerHour: values.MEDIA_UPLOAD_BYTES_PER_HOUR,
      filesPerHour: values.MEDIA_UPLOAD_FILES_PER_HOUR,
    },
    unattachedTtlMs: values.MEDIA_UNATTACHED_TTL_SECONDS * 1000,
    clamd: values.CLAMD_ADDRESS ? clamdAddress(values.CLAMD_ADDRESS) : null,
  }),
});

function clamdAddress(address: string): { host: string; port: number } {
  const [host, port] = address.split(':') as [string, string];
  return { host, port: Number(port) };
}

export const MEDIA_MODELS = { media: MediaModel, mediaStorage: MediaStorageModel };

export type MediaConfig = ConfigOf<typeof MEDIA_MODELS>;
