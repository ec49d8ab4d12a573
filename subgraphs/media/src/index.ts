import { hkdfSync } from 'node:crypto';
import { join } from 'node:path';
import { buildFederatedSchema, loadTypeDefs, log, type Runtime, type RuntimeEnv, type Subgraph } from '@chat/common';
import type { Context } from './context.ts';
import { withPermissions } from './permissions.ts';
import { ClamdScanner } from './processing/clamd.ts';
import type { Scanner } from './processing/types.ts';
import { resolvers } from './resolvers/index.ts';
import { MediaProcessor, type ProcessorOptions } from './services/media-processor.ts';
import { MediaService } from './services/media-service.ts';
import { createLocalMediaHandler, LocalObjectStorage } from './storage/local-storage.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import { S3ObjectStorage } from './storage/s3-storage.ts';
import { MediaStore } from './store/media-store.ts';

export { MediaStore } from './store/media-store.ts';
export { MediaService } from './services/media-service.ts';
export { MediaProcessor } from './services/media-processor.ts';
export { LocalObjectStorage } from './storage/local-storage.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export interface MediaSubgraph extends Subgraph<Context> {
  processor: MediaProcessor;
  storage: ObjectStorage;
  close(): Promise<void>;
}

export interface MediaSubgraphOptions {
  /** Processing timings and the clock, of processing and of the upload limits (tests). */
  processing?: ProcessorOptions;
}

/** Local signed URLs are keyed by a key of their own, derived from the internal secret every process of a deployment shares. */
function localUrlKey(runtime: Runtime): Buffer {
  return Buffer.from(hkdfSync('sha256', runtime.config.secrets.internalTokenSecret, new Uint8Array(0), 'media-urls', 32));
}

function openStorage(runtime: Runtime, env: RuntimeEnv): { storage: ObjectStorage; local?: LocalObjectStorage } {
  if (env.S3_ENDPOINT) {
    const storage = new S3ObjectStorage({
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION,
      credentials: env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY } : undefined,
      forcePathStyle: env.S3_FORCE_PATH_STYLE === 'on',
      buckets: { quarantine: env.MEDIA_BUCKET_QUARANTINE, clean: env.MEDIA_BUCKET_CLEAN },
    });
    return { storage };
  }
  const local = new LocalObjectStorage({
    root: env.MEDIA_DIR ?? join(runtime.config.dataDir, 'media'),
    publicBaseUrl: env.PUBLIC_URL ?? `http://localhost:${env.PORT}`,
    key: localUrlKey(runtime),
  });
  return { storage: local, local };
}

function openScanner(env: RuntimeEnv): Scanner | null {
  if (!env.CLAMD_ADDRESS) {
    if (env.NODE_ENV === 'production') log.warn('no virus scanner configured (CLAMD_ADDRESS): uploads are only signature-checked');
    return null;
  }
  const [host, port] = env.CLAMD_ADDRESS.split(':') as [string, string];
  return new ClamdScanner({ host, port: Number(port) });
}

export function createMediaSubgraph(runtime: Runtime, options: MediaSubgraphOptions = {}): MediaSubgraph {
  const { env } = runtime.config;
  const store = new MediaStore(runtime.db.prisma);
  const { storage, local } = openStorage(runtime, env);
  const scanner = openScanner(env);
  const processor = new MediaProcessor(store, storage, scanner, runtime.pubsub, { unattachedTtlMs: env.MEDIA_UNATTACHED_TTL_SECONDS * 1000, ...options.processing });
  const limits = { quotaBytes: env.MEDIA_QUOTA_BYTES, bytesPerHour: env.MEDIA_UPLOAD_BYTES_PER_HOUR, filesPerHour: env.MEDIA_UPLOAD_FILES_PER_HOUR };
  processor.start();
  const handler = local ? createLocalMediaHandler(local) : undefined;
  return {
    name: 'media',
    schema: withPermissions(buildFederatedSchema(typeDefs, resolvers)),
    async createContext(forwarded) {
      const viewer = await runtime.checkSession(forwarded);
      return { viewer, pubsub: runtime.pubsub, media: new MediaService(viewer, { store, storage, processor, ids: runtime.ids, downloadTtlSeconds: env.MEDIA_URL_TTL_SECONDS, limits, now: options.processing?.now }) };
    },
    handleHttp: handler,
    processor,
    storage,
    close: async () => {
      await processor.stop();
      await scanner?.close?.();
      await storage.close();
    },
  };
}
