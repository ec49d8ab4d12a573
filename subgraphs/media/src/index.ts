import { hkdfSync } from 'node:crypto';
import { buildFederatedSchema, loadConfig, loadTypeDefs, log, type Runtime, type Subgraph } from '@chat/common';
import { MEDIA_MODELS, type MediaConfig } from './env.ts';
import type { Context } from './context.ts';
import { withPermissions } from './permissions.ts';
import { ClamdScanner } from './processing/clamd.ts';
import type { Scanner } from './processing/types.ts';
import { resolvers } from './resolvers/index.ts';
import { MediaProcessor, type ProcessorOptions } from './services/media-processor.ts';
import { MediaService } from './services/media-service.ts';
import { createLocalMediaHandler } from './storage/local-media-handler.ts';
import { LocalObjectStorage } from './storage/local-storage.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import { S3ObjectStorage } from './storage/s3-storage.ts';
import { MediaStore } from './store/media-store.ts';

export { MediaStore } from './store/media-store.ts';
export { MediaService } from './services/media-service.ts';
export { MediaProcessor } from './services/media-processor.ts';
export { LocalObjectStorage } from './storage/local-storage.ts';
export { MEDIA_MODELS, type MediaConfig } from './env.ts';
// For the integration tests of the S3 store and the scanner against their real servers (tests/src/integration).
export { ObjectNotFoundError } from './storage/object-storage.ts';
export { S3ObjectStorage } from './storage/s3-storage.ts';
export { ClamdError, ClamdScanner } from './processing/clamd.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export interface MediaSubgraph extends Subgraph<Context> {
  processor: MediaProcessor;
  storage: ObjectStorage;
  close(): Promise<void>;
}

/** This subgraph's settings (`env.ts`); each one left out takes its default (tests). */
export interface MediaSubgraphOptions extends Partial<MediaConfig> {
  /** Processing timings and the clock, of processing and of the upload limits (tests). */
  processing?: ProcessorOptions;
}

/** Local signed URLs are keyed by a key of their own, derived from the internal secret every process of a deployment shares. */
function localUrlKey(runtime: Runtime): Buffer {
  return Buffer.from(
    hkdfSync('sha256', runtime.config.secrets.internalTokenSecret, new Uint8Array(0), 'media-urls', 32),
  );
}

function openStorage(
  runtime: Runtime,
  { s3, local: disk }: MediaConfig['mediaStorage'],
): { storage: ObjectStorage; local?: LocalObjectStorage } {
  if (s3) return { storage: new S3ObjectStorage(s3) };
  const local = new LocalObjectStorage({ ...disk, key: localUrlKey(runtime) });
  return { storage: local, local };
}

function openScanner(runtime: Runtime, { clamd }: MediaConfig['media']): Scanner | null {
  if (!clamd) {
    if (runtime.config.server.production) {
      log.warn('no virus scanner configured (CLAMD_ADDRESS): uploads are only signature-checked');
    }
    return null;
  }
  return new ClamdScanner(clamd);
}

export function createMediaSubgraph(runtime: Runtime, options: MediaSubgraphOptions = {}): MediaSubgraph {
  const { media, mediaStorage } = { ...loadConfig(MEDIA_MODELS, {}), ...options };
  const store = new MediaStore(runtime.db.prisma);
  const { storage, local } = openStorage(runtime, mediaStorage);
  const scanner = openScanner(runtime, media);
  const processing = { unattachedTtlMs: media.unattachedTtlMs, ...options.processing };
  const processor = new MediaProcessor(store, storage, scanner, runtime.pubsub, processing);
  const { limits } = media;
  processor.start();
  const handler = local ? createLocalMediaHandler(local) : undefined;
  return {
    name: 'media',
    schema: withPermissions(buildFederatedSchema(typeDefs, resolvers)),
    async createContext(forwarded) {
      const viewer = await runtime.checkSession(forwarded);
      return {
        viewer,
        pubsub: runtime.pubsub,
        media: new MediaService(viewer, {
          store,
          storage,
          processor,
          ids: runtime.ids,
          downloadTtlSeconds: media.downloadTtlSeconds,
          limits,
          now: options.processing?.now,
        }),
      };
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
